/* 课程、班次与资料。讲师（手机优先）：我的课程与班次、新建班次、上传资料（进度条、失败原因）；
   学员：已发布课程、我的课表、资料（视频直接播放，PDF 在浏览器中打开）。 */
(function () {
  'use strict';
  var esc = NX.esc;
  var GROUPS = { poverty: '脱贫户/建档立卡', woman: '妇女', youth: '青年', returnee_graduate: '返乡大学生', returnee_worker: '返乡农民工', veteran: '退役军人', disabled: '残疾人' };
  var STAFF = ['admin', 'officer', 'trainer', 'auditor'];
  function role(r) { return NX.user && (Array.isArray(r) ? r.indexOf(NX.user.role) >= 0 : NX.user.role === r); }
  /* The course's makers and assigned trainers may schedule it, upload and issue. */
  function teaches(c, uid) { return (c.makers || []).indexOf(uid) >= 0 || (c.trainers || []).indexOf(uid) >= 0; }
  function isMaker(c, uid) { return (c.makers || []).indexOf(uid) >= 0; }
  function groupsText(gs) { return (gs || []).map(function (g) { return GROUPS[g] || '其他人群'; }).join('、'); }
  /* A name never breaks one character per line in a narrow column. */
  function nm(s) { return '<span style="white-space:nowrap">' + esc(s) + '</span>'; }
  function fail(el, x) { el.innerHTML = '<p class="error">' + esc(NX.errText(x)) + '</p>'; }
  function hm(t) { return new Date(t).toLocaleTimeString('zh-CN', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit', hour12: false }); }
  function when(s) { return NX.date(s.starts_at) + ' ' + hm(s.starts_at) + '–' + hm(s.ends_at); }
  function size(n) { return n >= 1 << 20 ? (n / 1048576).toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB'; }
  function kind(ct) {
    if (ct.indexOf('video/') === 0) return '视频';
    if (ct.indexOf('audio/') === 0) return '音频';
    if (ct.indexOf('image/') === 0) return '图片';
    if (ct === 'application/pdf') return 'PDF';
    return '文档';
  }
  function sessionState(s) {
    if (s.cancelled) return '<span class="tag bad">已取消</span>';
    var now = Date.now();
    if (new Date(s.ends_at) < now) return '<span class="tag">已结束</span>';
    if (new Date(s.starts_at) <= now) return '<span class="tag good">进行中</span>';
    return '<span class="tag warn">未开始</span>';
  }
  /* Shows an error under a form, with the field reasons. */
  function formError(box, x) { box.innerHTML = '<p class="error">' + esc(NX.errText(x)) + '</p>'; box.scrollIntoView({ block: 'nearest' }); }

  var regionCache = null;
  function regions() {
    if (!regionCache) regionCache = NX.get('/regions').catch(function (x) { regionCache = null; throw x; });
    return regionCache;
  }
  function regionOptions(all) {
    var towns = all.filter(function (r) { return r.level === 'township'; });
    if (NX.user.role === 'officer' && NX.user.township_id) towns = towns.filter(function (t) { return t.id === NX.user.township_id; });
    return towns.map(function (t) {
      var vs = all.filter(function (r) { return r.parent_id === t.id; });
      return '<optgroup label="' + esc(t.name) + '"><option value="' + esc(t.id) + '">' + esc(t.name) + '（乡镇）</option>' +
        vs.map(function (v) { return '<option value="' + esc(v.id) + '">' + esc(v.name) + '</option>'; }).join('') + '</optgroup>';
    }).join('');
  }
  function regionName(all, id) { for (var i = 0; i < all.length; i++) if (all[i].id === id) return all[i].name; return ''; }

  function sessionCard(s, regs, extra) {
    return '<div class="card"><div class="row"><b style="flex:1 1 12em;min-width:10em">' + esc(s.course_title || '') + ' ' + when(s) + '</b><span style="flex:0 0 auto">' + sessionState(s) + (s.backfilled ? ' <span class="tag">补录</span>' : '') + (s.started_early ? ' <span class="tag">提前开始</span>' : '') + '</span></div>' +
      '<p class="small muted">' + esc(s.location) + (regs ? ' · ' + esc(regionName(regs, s.region_id)) : '') + ' · 名额 ' + (s.capacity ? s.capacity : '不限') +
      (s.cancelled && s.cancel_reason ? '<br>取消原因：' + esc(s.cancel_reason) : '') + '</p>' + (extra || '') + '</div>';
  }

  /* ---------- course list ---------- */
  NX.view('courses', {
    title: '课程', hint: '培训课程与班次', roles: ['admin', 'officer', 'trainer', 'trainee', 'station', 'auditor'],
    render: function (el) {
      var mine = role('trainer');
      return Promise.all([NX.get('/courses' + (mine ? '?mine=1' : '')), NX.get('/course-categories')]).then(function (r) {
        var list = r[0], cats = r[1];
        var h = '<h1>' + (mine ? '我的课程' : role(STAFF) ? '全部课程' : '培训课程') + '</h1>';
        if (role(['admin', 'trainer'])) h += '<p><a href="#/course-new"><button class="primary">＋ 新建课程</button></a></p>';
        if (mine) h += '<p class="small"><a href="#/courses-all">查看全部课程</a></p>';
        h += '<label>类别<select id="cat"><option value="">全部</option>' + cats.map(function (c) { return '<option>' + esc(c.name) + '</option>'; }).join('') + '</select></label><div id="list"></div>';
        if (role('admin')) h += '<h2>课程类别</h2><form id="catf" class="row"><input name="name" placeholder="新类别名称" maxlength="20" required><button>添加类别</button></form><div id="catmsg"></div>';
        el.innerHTML = h;
        var box = el.querySelector('#list');
        function draw() {
          var c = el.querySelector('#cat').value;
          var xs = list.filter(function (x) { return !c || x.category === c; });
          box.innerHTML = xs.length ? xs.map(courseCard).join('') : '<p class="muted">暂无课程。</p>';
        }
        el.querySelector('#cat').addEventListener('change', draw);
        draw();
        var cf = el.querySelector('#catf');
        if (cf) cf.addEventListener('submit', function (e) {
          e.preventDefault();
          NX.post('/course-categories', NX.form(cf)).then(function () { NX.route(); }).catch(function (x) { formError(el.querySelector('#catmsg'), x); });
        });
      });
    }
  });
  NX.view('courses-all', {
    title: '全部课程', menu: false, roles: ['trainer'],
    render: function (el) {
      return NX.get('/courses').then(function (list) {
        el.innerHTML = '<h1>全部课程</h1>' + (list.length ? list.map(courseCard).join('') : '<p class="muted">暂无课程。</p>');
      });
    }
  });
  function courseCard(c) {
    return '<a class="card" style="display:block;text-decoration:none;color:inherit" href="#/course/' + esc(c.id) + '"><b>' + esc(c.title) + '</b> ' +
      (c.published ? '' : '<span class="tag warn">草稿</span>') + '<br><span class="small muted">' + esc(c.category) + ' · ' + c.hours + ' 学时' +
      (c.target_groups && c.target_groups.length ? ' · ' + groupsText(c.target_groups) : '') + '</span></a>';
  }

  /* ---------- create / edit a course ---------- */
  function courseForm(el, c) {
    return NX.get('/course-categories').then(function (cats) {
      c = c || { title: '', description: '', category: cats.length ? cats[0].name : '', hours: 4, pass_ratio: 0.8, target_groups: [], published: false };
      el.innerHTML = '<h1>' + (c.id ? '修改课程' : '新建课程') + '</h1><form id="cf" class="card">' +
        '<label>课程名称<input name="title" required maxlength="100" value="' + esc(c.title) + '"></label>' +
        '<label>类别<select name="category">' + cats.map(function (x) { return '<option' + (x.name === c.category ? ' selected' : '') + '>' + esc(x.name) + '</option>'; }).join('') + '</select></label>' +
        '<div class="row"><label>学时<input name="hours" type="number" step="0.5" min="0.5" max="1000" required value="' + c.hours + '"></label>' +
        '<label>合格出勤比例（0–1）<input name="pass_ratio" type="number" step="0.05" min="0" max="1" required value="' + c.pass_ratio + '"></label></div>' +
        '<fieldset><legend>面向人群</legend>' + Object.keys(GROUPS).map(function (g) {
          return '<label style="display:inline-block;margin-right:1rem"><input type="checkbox" name="target_groups" data-list="1" value="' + g + '"' + (c.target_groups.indexOf(g) >= 0 ? ' checked' : '') + '>' + GROUPS[g] + '</label>';
        }).join('') + '</fieldset>' +
        '<label>课程介绍<textarea name="description" rows="4" maxlength="5000">' + esc(c.description) + '</textarea></label>' +
        '<label><input type="checkbox" name="published"' + (c.published ? ' checked' : '') + '>发布（学员可见）</label>' +
        '<div id="msg"></div><button class="primary">保存</button></form>';
      var f = el.querySelector('#cf');
      f.addEventListener('submit', function (e) {
        e.preventDefault();
        var body = NX.form(f);
        if (!body.target_groups) body.target_groups = [];
        if (!body.description) body.description = '';
        f.querySelector('button').disabled = true;
        (c.id ? NX.api('PATCH', '/courses/' + c.id, body) : NX.post('/courses', body))
          .then(function (x) { NX.go('#/course/' + x.id); })
          .catch(function (x) { formError(el.querySelector('#msg'), x); f.querySelector('button').disabled = false; });
      });
    });
  }
  NX.view('course-new', { title: '新建课程', menu: false, roles: ['admin', 'trainer'], render: function (el) { return courseForm(el); } });
  NX.view('course-edit', {
    title: '修改课程', menu: false, roles: ['admin', 'trainer'],
    render: function (el, a) { return NX.get('/courses/' + a[0]).then(function (c) { return courseForm(el, c); }); }
  });

  /* ---------- one course: sessions and materials ---------- */
  NX.view('course', {
    title: '课程详情', menu: false,
    render: function (el, a) {
      var id = a[0];
      var pick = role(['admin', 'trainer']);
      return Promise.all([NX.get('/courses/' + id), NX.get('/courses/' + id + '/sessions'), NX.get('/courses/' + id + '/materials'), regions().catch(function () { return []; }),
        role(STAFF) ? NX.get('/trainers').catch(function () { return []; }) : Promise.resolve([])]).then(function (r) {
        var c = r[0], ss = r[1], ms = r[2], regs = r[3], trainers = r[4];
        var me = NX.user;
        var tname = {};
        trainers.forEach(function (t) { tname[t.id] = t.name; });
        var canEdit = me.role === 'admin' || (me.role === 'trainer' && isMaker(c, me.id));
        var canSchedule = me.role === 'admin' || me.role === 'officer' || (me.role === 'trainer' && teaches(c, me.id));
        var canUpload = me.role === 'admin' || (me.role === 'trainer' && teaches(c, me.id));
        var h = '<p class="small"><a href="#/courses">‹ 课程列表</a></p><h1>' + esc(c.title) + ' ' + (c.published ? '' : '<span class="tag warn">草稿</span>') + '</h1>' +
          '<p class="muted small">' + esc(c.category) + ' · ' + c.hours + ' 学时 · 出勤达 ' + Math.round(c.pass_ratio * 100) + '% 可获证书</p>' +
          (c.description ? '<p>' + esc(c.description).replace(/\n/g, '<br>') + '</p>' : '');
        if (me.role === 'trainee') h += '<div id="enrol"></div>';
        if (canEdit) h += '<p class="row"><a href="#/course-edit/' + esc(id) + '"><button>修改</button></a><button id="pub">' + (c.published ? '撤回为草稿' : '发布课程') + '</button></p>';
        if (role(STAFF)) {
          // Makers who are not trainers (the office) are not listed as teaching.
          var who = (c.makers || []).concat((c.trainers || []).filter(function (t) { return (c.makers || []).indexOf(t) < 0; }))
            .filter(function (t) { return tname[t]; });
          h += '<h2>授课讲师</h2><p class="small">' + (who.length ? who.map(function (t) {
            return nm(tname[t]) + (isMaker(c, t) ? '<span class="small muted">（创建者）</span>' : '');
          }).join('、') : '<span class="muted">尚未指派讲师</span>') + '</p>';
          if (canEdit && pick) h += '<details class="card"><summary>指派讲师</summary><form id="tf"><p class="small muted">被指派的讲师可以为本课程安排班次、上传资料、颁发和查看证书。</p>' +
            (trainers.length ? trainers.map(function (t) {
              return '<label style="display:inline-block;margin-right:1rem;white-space:nowrap"><input type="checkbox" name="trainer_ids" data-list="1" value="' + esc(t.id) + '"' +
                ((c.trainers || []).indexOf(t.id) >= 0 ? ' checked' : '') + '>' + esc(t.name) + '</label>';
            }).join('') : '<p class="muted">还没有讲师账号。</p>') + '<div id="tmsg"></div><button class="primary">保存指派</button></form></details>';
        }
        h += '<h2>班次</h2>';
        if (canSchedule) h += '<p class="row"><a href="#/session-new/' + esc(id) + '"><button class="primary">＋ 新建班次</button></a>' +
          (me.role === 'trainer' ? '<a href="#/session-new/' + esc(id) + '/now"><button>现在开始上课</button></a>' : '') + '</p>';
        h += ss.length ? ss.map(function (s) {
          var mayCancel = !s.cancelled && (me.role === 'admin' || (me.role === 'trainer' && s.trainer_id === me.id) || (me.role === 'officer' && s.township_id === me.township_id));
          var mayRun = !s.cancelled && (me.role === 'admin' || (me.role === 'trainer' && s.trainer_id === me.id));
          var planned = !s.cancelled && new Date(s.starts_at) > Date.now();
          return sessionCard(s, regs, (tname[s.trainer_id] ? '<p class="small">讲师：' + nm(tname[s.trainer_id]) + '</p>' : '') +
            (mayRun && planned ? '<button class="small" data-start="' + esc(s.id) + '">现在开始</button> ' : '') +
            (mayRun ? '<a class="small" href="#/session-checkin/' + esc(s.id) + '">签到二维码与点名 ›</a> ' : '') +
            (mayCancel ? '<button class="link small" data-cancel="' + esc(s.id) + '">取消此班次</button>' : ''));
        }).join('') : '<p class="muted">暂无班次。</p>';
        h += '<h2>学习资料</h2><div id="mats">' + materialsHTML(ms, canUpload) + '</div>';
        if (canUpload) h += uploadHTML();
        el.innerHTML = h;
        var en = el.querySelector('#enrol');
        if (en) {
          if (typeof NX.enrolBlock === 'function') NX.enrolBlock(en, c);
          else en.innerHTML = enrolInfo(c, ss);
        }
        var pub = el.querySelector('#pub');
        if (pub) pub.addEventListener('click', function () {
          pub.disabled = true;
          NX.api('PATCH', '/courses/' + id, { published: !c.published }).then(NX.route).catch(function (x) { pub.disabled = false; alert(NX.errText(x)); });
        });
        var tf = el.querySelector('#tf');
        if (tf) tf.addEventListener('submit', function (e) {
          e.preventDefault();
          var b = NX.form(tf);
          NX.api('PUT', '/courses/' + id + '/trainers', { trainer_ids: b.trainer_ids || [] }).then(NX.route).catch(function (x) { formError(el.querySelector('#tmsg'), x); });
        });
        el.querySelectorAll('[data-cancel]').forEach(function (b) {
          b.addEventListener('click', function () {
            var reason = prompt('请填写取消原因（学员会看到）');
            if (reason === null) return;
            NX.post('/sessions/' + b.dataset.cancel + '/cancel', { reason: reason }).then(NX.route).catch(function (x) { alert(NX.errText(x)); });
          });
        });
        el.querySelectorAll('[data-start]').forEach(function (b) {
          b.addEventListener('click', function () {
            if (!confirm('现在开始这个班次？开始时间将改为现在，学员即可签到。')) return;
            b.disabled = true;
            NX.post('/sessions/' + b.dataset.start + '/start').then(function (s) { NX.go('#/session-checkin/' + s.id); })
              .catch(function (x) { b.disabled = false; alert(NX.errText(x)); });
          });
        });
        wireMaterials(el, id);
        if (canUpload) wireUpload(el, id);
      });
    }
  });

  /* What a trainee sees of enrolment when the enrolment page part is not loaded. */
  function enrolInfo(c, ss) {
    var open = ss.filter(function (s) { return !s.cancelled && new Date(s.ends_at) > Date.now(); });
    var cap = open.map(function (s) { return s.capacity; });
    var capText = !open.length ? '暂无待开班次' : cap.some(function (n) { return !n; }) ? '名额不限' : '每班 ' + Math.min.apply(null, cap) + '–' + Math.max.apply(null, cap) + ' 人';
    return '<div class="card"><p><b>报名须知</b></p><p class="small">面向人群：' + (c.target_groups && c.target_groups.length ? esc(groupsText(c.target_groups)) : '不限') +
      '<br>名额：' + esc(capText) + '</p><p class="small muted">报名请联系培训讲师或本乡镇联络员。</p></div>';
  }

  function materialsHTML(ms, canEdit) {
    if (!ms.length) return '<p class="muted">' + (role(STAFF) ? '暂无资料。' : '暂无可查看的资料（报名后可查看全部资料）。') + '</p>';
    return ms.map(function (m) {
      return '<div class="card"><div class="row"><a href="#/material/' + esc(m.id) + '" style="flex:3 1 200px"><b>' + esc(m.name) + '</b></a>' +
        '<span class="small muted" style="flex:0 0 auto">' + kind(m.content_type) + ' · ' + size(m.size) + (m.public ? ' · <span class="tag good">公开</span>' : '') + '</span></div>' +
        (canEdit ? '<p class="small row"><button class="link" data-public="' + esc(m.id) + '" data-v="' + (m.public ? '0' : '1') + '">' + (m.public ? '设为仅报名学员可见' : '设为公开') + '</button>' +
          '<button class="link error" data-del="' + esc(m.id) + '" data-name="' + esc(m.name) + '">删除</button></p>' : '') + '</div>';
    }).join('');
  }
  function wireMaterials(el) {
    el.querySelectorAll('[data-public]').forEach(function (b) {
      b.addEventListener('click', function () {
        NX.api('PATCH', '/materials/' + b.dataset.public, { public: b.dataset.v === '1' }).then(NX.route).catch(function (x) { alert(NX.errText(x)); });
      });
    });
    el.querySelectorAll('[data-del]').forEach(function (b) {
      b.addEventListener('click', function () {
        if (!confirm('删除资料“' + b.dataset.name + '”？删除记录会留存备查。')) return;
        NX.api('DELETE', '/materials/' + b.dataset.del).then(NX.route).catch(function (x) { alert(NX.errText(x)); });
      });
    });
  }
  function uploadHTML() {
    return '<form id="up" class="card"><b>上传资料</b><p class="small muted">PDF、Word/Excel/PPT、图片、MP3、MP4。信号弱时请连接 WiFi 后上传大视频。</p>' +
      '<input type="file" name="file" required accept=".pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.jpg,.jpeg,.png,.gif,.webp,.mp3,.mp4,.m4a">' +
      '<label><input type="checkbox" name="public">公开（未报名的学员也能查看）</label>' +
      '<progress id="bar" max="1" value="0" hidden></progress><p id="upmsg" class="small"></p><button class="primary">上传</button></form>';
  }
  function wireUpload(el, id) {
    var f = el.querySelector('#up'), bar = el.querySelector('#bar'), msg = el.querySelector('#upmsg'), btn = f.querySelector('button');
    f.addEventListener('submit', function (e) {
      e.preventDefault();
      var file = f.elements.file.files[0];
      if (!file) { msg.innerHTML = '<span class="error">请先选择文件</span>'; return; }
      if (file.size === 0) { msg.innerHTML = '<span class="error">文件是空的，请重新选择</span>'; return; }
      var fd = new FormData();
      fd.append('file', file, file.name);
      btn.disabled = true; bar.hidden = false; bar.value = 0;
      msg.textContent = '正在上传 ' + file.name + '…';
      NX.upload('/courses/' + id + '/materials' + (f.elements.public.checked ? '?public=true' : ''), fd, function (p) {
        bar.value = p; msg.textContent = '已上传 ' + Math.round(p * 100) + '%（' + size(file.size * p) + ' / ' + size(file.size) + '）';
      }).then(function (m) {
        msg.innerHTML = '<span class="ok">上传成功：' + esc(m.name) + '</span>';
        return NX.get('/courses/' + id + '/materials').then(function (ms) {
          el.querySelector('#mats').innerHTML = materialsHTML(ms, true); wireMaterials(el); f.reset(); bar.hidden = true;
        });
      }).catch(function (x) {
        var why = NX.errText(x);
        if (x.status === 413) why = '文件太大：' + why;
        else if (x.status === 400) why = '上传被拒绝：' + why;
        msg.innerHTML = '<span class="error">' + esc(why) + '</span>';
        bar.hidden = true;
      }).then(function () { btn.disabled = false; });
    });
  }

  /* ---------- one material: play or open in the browser ---------- */
  NX.view('material', {
    title: '资料', menu: false,
    render: function (el, a) {
      return NX.get('/materials/' + a[0] + '/link').then(function (l) {
        var ct = l.content_type, u = esc(l.url), h = '<p class="small"><a href="#/course/' + esc(l.course_id) + '">‹ 返回课程</a></p><h1>' + esc(l.name) + '</h1>';
        if (ct.indexOf('video/') === 0) h += '<video src="' + u + '" controls playsinline preload="metadata" style="width:100%;max-height:70vh;background:#000"></video><p class="small muted">网络中断后再次播放会从断点继续加载。</p>';
        else if (ct.indexOf('audio/') === 0) h += '<audio src="' + u + '" controls preload="metadata" style="width:100%"></audio>';
        else if (ct.indexOf('image/') === 0) h += '<img src="' + u + '" alt="' + esc(l.name) + '" style="max-width:100%">';
        else if (ct === 'application/pdf') h += '<p><a href="' + u + '" target="_blank" rel="noopener"><button class="primary">在浏览器中打开 PDF</button></a></p>';
        h += '<p><a href="' + u + '" download="' + esc(l.name) + '">下载到手机</a></p>';
        el.innerHTML = h;
      });
    }
  });

  /* ---------- create a session ---------- */
  NX.view('session-new', {
    title: '新建班次', menu: false, roles: ['admin', 'officer', 'trainer'],
    render: function (el, a) {
      var id = a[0], now = a[1] === 'now';
      var pickTrainer = NX.user.role !== 'trainer';
      return Promise.all([NX.get('/courses/' + id), regions(), pickTrainer ? NX.get('/trainers') : Promise.resolve([])]).then(function (r) {
        var c = r[0], regs = r[1], trainers = r[2];
        var d = new Date(Date.now() + 86400000); d.setHours(9, 0, 0, 0);
        var local = new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
        if (pickTrainer && NX.user.role !== 'admin') trainers = trainers.filter(function (t) { return teaches(c, t.id); });
        el.innerHTML = '<p class="small"><a href="#/course/' + esc(id) + '">‹ ' + esc(c.title) + '</a></p><h1>' + (now ? '现在开始上课' : '新建班次') + '</h1><form id="sf" class="card">' +
          (now ? '<p class="small muted">班次从现在开始，学员马上可以扫码签到。</p>' : '<label>开始时间<input name="starts_at" type="datetime-local" required value="' + local + '"></label>') +
          '<label>时长（小时，最长 12）<input id="dur" type="number" min="0.5" max="12" step="0.5" value="3" required></label>' +
          '<label>地点<input name="location" required maxlength="200" placeholder="如：乡政府三楼会议室"></label>' +
          '<label>所在乡镇/村<select name="region_id" required>' + regionOptions(regs) + '</select></label>' +
          (pickTrainer ? '<label>讲师<select name="trainer_id" required>' + trainers.map(function (t) { return '<option value="' + esc(t.id) + '">' + esc(t.name) + (teaches(c, t.id) ? '' : '（将指派到本课程）') + '</option>'; }).join('') + '</select></label>' +
            (trainers.length ? '' : '<p class="small error">本课程还没有指派讲师，请课程创建者或管理员先在课程页指派。</p>') : '') +
          '<label>名额（0 表示不限）<input name="capacity" type="number" min="0" step="1" value="50" required></label>' +
          '<details><summary>签到范围（可选）</summary><div class="row"><label>纬度<input id="lat" type="number" step="any"></label><label>经度<input id="lng" type="number" step="any"></label>' +
          '<label>半径（米）<input id="rad" type="number" min="10" max="50000" value="300"></label></div><button type="button" id="here">使用当前位置</button></details>' +
          (NX.user.role === 'admin' && !now ? '<p class="small muted">开始时间早于现在时，将作为“补录”保存已举办的培训（5 年以内）。</p>' : '') +
          '<div id="msg"></div><button class="primary">保存班次</button></form>';
        var f = el.querySelector('#sf');
        el.querySelector('#here').addEventListener('click', function () {
          if (!navigator.geolocation) return alert('此设备无法定位');
          navigator.geolocation.getCurrentPosition(function (p) { el.querySelector('#lat').value = p.coords.latitude.toFixed(6); el.querySelector('#lng').value = p.coords.longitude.toFixed(6); },
            function () { alert('无法获取位置，请检查定位权限'); }, { enableHighAccuracy: true, timeout: 15000 });
        });
        f.addEventListener('submit', function (e) {
          e.preventDefault();
          var b = NX.form(f), box = el.querySelector('#msg');
          var hrs = Number(el.querySelector('#dur').value);
          if (now) { b.start_now = true; b.ends_at = new Date(Date.now() + hrs * 3600000).toISOString(); }
          else if (b.starts_at) b.ends_at = new Date(new Date(b.starts_at).getTime() + hrs * 3600000).toISOString();
          var lat = el.querySelector('#lat').value, lng = el.querySelector('#lng').value;
          if (lat !== '' || lng !== '') b.geofence = { lat: Number(lat), lng: Number(lng), radius_m: Number(el.querySelector('#rad').value) };
          if (b.capacity === undefined) b.capacity = 0;
          f.querySelector('button.primary').disabled = true;
          NX.post('/courses/' + id + '/sessions', b).then(function (s) { NX.go(now ? '#/session-checkin/' + s.id : '#/course/' + id); })
            .catch(function (x) { formError(box, x); f.querySelector('button.primary').disabled = false; });
        });
      });
    }
  });

  /* ---------- my schedule ---------- */
  NX.view('my-sessions', {
    title: '我的日程', hint: '我的班次与课表', roles: ['trainer', 'trainee'],
    render: function (el) {
      var from = new Date(Date.now() - 7 * 86400000).toISOString();
      return Promise.all([NX.get('/my/sessions?from=' + encodeURIComponent(from)), regions().catch(function () { return []; })]).then(function (r) {
        var ss = r[0], regs = r[1];
        var trainer = role('trainer');
        var h = '<h1>' + (trainer ? '我的班次' : '我的课表') + '</h1>';
        if (!ss.length) h += '<p class="muted">' + (trainer ? '近期没有您的班次。到“课程”中为课程新建班次。' : '近期没有课程安排。报名课程后，班次会显示在这里。') + '</p>';
        var day = '';
        ss.forEach(function (s) {
          var d = NX.date(s.starts_at);
          if (d !== day) { h += '<h2>' + esc(d) + '</h2>'; day = d; }
          var planned = trainer && !s.cancelled && new Date(s.starts_at) > Date.now();
          h += sessionCard(s, regs, (planned ? '<button class="small" data-start="' + esc(s.id) + '">现在开始</button> ' : '') +
            (trainer && !s.cancelled ? '<a class="small" href="#/session-checkin/' + esc(s.id) + '">签到二维码与点名 ›</a> ' : '') +
            '<a class="small" href="#/course/' + esc(s.course_id) + '">课程与资料 ›</a>');
        });
        el.innerHTML = h;
        el.querySelectorAll('[data-start]').forEach(function (b) {
          b.addEventListener('click', function () {
            if (!confirm('现在开始这个班次？开始时间将改为现在，学员即可签到。')) return;
            b.disabled = true;
            NX.post('/sessions/' + b.dataset.start + '/start').then(function (s) { NX.go('#/session-checkin/' + s.id); })
              .catch(function (x) { b.disabled = false; alert(NX.errText(x)); });
          });
        });
      });
    }
  });
})();
