/* 报名：学员查看已发布的课程（名额、面向人群）并报名或取消报名。
   NX.enrolBlock(el, course) 在 el 中画出一门课程的报名/取消报名区块（课程页可直接调用）。 */
(function () {
  'use strict';
  var esc = NX.esc;
  var GROUPS = { poverty: '建档立卡贫困户', woman: '妇女', youth: '青年', returnee_graduate: '返乡大学生', returnee_worker: '返乡农民工', veteran: '退役军人', disabled: '残疾人' };
  NX.groupNames = NX.groupNames || GROUPS;

  /* Chinese names of group keys; unknown keys are shown as 其他. */
  function groupsText(gs) {
    if (!gs || !gs.length) return '面向所有学员';
    return '面向：' + gs.map(function (g) { return GROUPS[g] || '其他人群'; }).join('、');
  }
  function placesText(st) {
    if (!st) return '';
    if (!st.capacity) return '名额不限 · 已报名 ' + st.enrolled + ' 人';
    return '剩余名额 ' + st.places_left + ' 个（共 ' + st.capacity + ' 个）';
  }
  function statusOf(ids) {
    if (!ids.length) return Promise.resolve({});
    var chunks = [];
    for (var i = 0; i < ids.length; i += 100) chunks.push(ids.slice(i, i + 100));
    return Promise.all(chunks.map(function (c) { return NX.get('/enrollment-status?course_ids=' + c.join(',')); })).then(function (rs) {
      var by = {};
      rs.forEach(function (r) { r.items.forEach(function (x) { by[x.course_id] = x; }); });
      return by;
    });
  }

  function blockHTML(course, st) {
    var h = '<p class="small muted" data-places>' + esc(placesText(st)) + (st && st.first_starts_at ? ' · 首次上课 ' + esc(NX.time(st.first_starts_at)) : '') + '</p>';
    if (!st) return h;
    if (st.enrolled_me) {
      h += '<p><span class="tag good">已报名</span></p>';
      h += st.can_cancel ? '<button type="button" data-act="cancel">取消报名</button>' : '<p class="small muted">课程已开始，如需取消请联系培训讲师。</p>';
    } else if (st.open) {
      h += '<button type="button" class="primary" data-act="enrol">报名</button>';
    } else {
      h += '<p><span class="tag bad">' + esc(st.closed_reason || '暂不能报名') + '</span></p>';
    }
    return h + '<p class="small" role="status" data-msg></p>';
  }

  /* Renders the enrol/cancel block of one course into el; st (optional) is its status. */
  NX.enrolBlock = function (el, course, st) {
    var draw = function (s) {
      el.innerHTML = blockHTML(course, s);
      var msg = el.querySelector('[data-msg]');
      var btn = el.querySelector('button[data-act]');
      if (!btn) return;
      btn.onclick = function () {
        btn.disabled = true;
        msg.className = 'small muted'; msg.textContent = btn.dataset.act === 'enrol' ? '正在报名…' : '正在取消…';
        var p = btn.dataset.act === 'enrol' ? NX.post('/courses/' + course.id + '/enrollments', {})
          : NX.api('DELETE', '/courses/' + course.id + '/enrollments/me');
        p.then(function (r) {
          return statusOf([course.id]).then(function (by) {
            draw(by[course.id]);
            var m = el.querySelector('[data-msg]');
            m.className = 'small ok'; m.textContent = r.message || '已完成';
          });
        }).catch(function (x) {
          btn.disabled = false;
          msg.className = 'small error';
          msg.textContent = (x.data && x.data.error && x.data.error.message) || NX.errText(x);
        });
      };
    };
    if (st) { draw(st); return Promise.resolve(); }
    el.innerHTML = '<p class="small muted">正在读取报名情况…</p>';
    return statusOf([course.id]).then(function (by) { draw(by[course.id]); })
      .catch(function (x) { el.innerHTML = '<p class="small error">' + esc(NX.errText(x)) + '</p>'; });
  };

  NX.view('enrol', {
    title: '报名课程', roles: ['trainee'], hint: '查看课程、名额并报名',
    render: function (el) {
      return NX.get('/courses').then(function (list) {
        list = (list || []).filter(function (c) { return c.published; });
        if (!list.length) { el.innerHTML = '<h1>报名课程</h1><p class="muted">现在没有可以报名的课程。</p>'; return; }
        return statusOf(list.map(function (c) { return c.id; })).then(function (by) {
          // Open courses first, then those already enrolled, then closed ones.
          var rank = function (c) { var s = by[c.id] || {}; return s.enrolled_me ? 1 : s.open ? 0 : 2; };
          list.sort(function (a, b) { return rank(a) - rank(b); });
          el.innerHTML = '<h1>报名课程</h1><p class="small muted">报名后可在“我的培训”查看上课时间；课程开始前可以取消报名。</p>' +
            list.map(function (c) {
              return '<div class="card" data-course="' + esc(c.id) + '"><b>' + esc(c.title) + '</b>' +
                '<p class="small">' + esc(c.category || '') + (c.hours ? ' · ' + esc(c.hours) + ' 学时' : '') + '<br>' + esc(groupsText(c.target_groups)) + '</p>' +
                (c.description ? '<p class="small muted">' + esc(c.description.length > 80 ? c.description.slice(0, 80) + '…' : c.description) + '</p>' : '') +
                '<div data-block></div></div>';
            }).join('') + '<p><a href="#/my-training">我的培训</a></p>';
          list.forEach(function (c) {
            NX.enrolBlock(el.querySelector('[data-course="' + c.id + '"] [data-block]'), c, by[c.id]);
          });
        });
      });
    }
  });
})();
