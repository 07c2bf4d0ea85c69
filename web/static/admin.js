/* 账号、区域、审计日志、修改密码：the admin's account pages (create, edit,
   disable, re-enable, reset a password), the officer's trainee password
   resets, the region tree with rename, poverty flag and import, the audit
   log for auditor and admin, and everyone's change-password page (also the
   forced change after a reset). */
(function () {
  'use strict';
  var esc = NX.esc;
  var ROLES = ['admin', 'officer', 'trainer', 'trainee', 'station', 'auditor'];
  var PAGE = 20;

  function fail(el) { return function (err) { el.innerHTML = '<p class="error" role="alert">' + esc(NX.errText(err)) + '</p>'; }; }
  function opts(list, sel, blank) {
    return (blank != null ? '<option value="">' + esc(blank) + '</option>' : '') + list.map(function (o) {
      return '<option value="' + esc(o[0]) + '"' + (o[0] === sel ? ' selected' : '') + '>' + esc(o[1]) + '</option>';
    }).join('');
  }
  function roleOpts(sel, blank) { return opts(ROLES.map(function (r) { return [r, NX.label('role', r)]; }), sel, blank); }

  var regionCache = null;
  function regions(force) {
    if (regionCache && !force) return Promise.resolve(regionCache);
    return NX.get('/regions').then(function (list) {
      var r = { list: list, byID: {} };
      list.forEach(function (x) { r.byID[x.id] = x; });
      regionCache = r;
      return r;
    });
  }
  var stationCache = null;
  function stations() {
    if (stationCache) return Promise.resolve(stationCache);
    return NX.get('/stations').then(function (r) { stationCache = r.items || []; return stationCache; }, function () { return []; });
  }

  /* A picker: a search box that filters a list box, for long lists of
     townships or stations on a phone. The chosen id is in a hidden input. */
  function picker(name, label, items, value) {
    var id = 'pk-' + name;
    return '<div class="picker" data-name="' + esc(name) + '"><label for="' + id + '-q">' + esc(label) + '</label>' +
      '<input type="search" id="' + id + '-q" placeholder="输入名称筛选" autocomplete="off">' +
      '<select id="' + id + '" name="' + esc(name) + '" size="5" aria-label="' + esc(label) + '">' +
      items.map(function (x) { return '<option value="' + esc(x.id) + '"' + (x.id === value ? ' selected' : '') + '>' + esc(x.label) + '</option>'; }).join('') +
      '</select></div>';
  }
  function wirePickers(root) {
    Array.prototype.forEach.call(root.querySelectorAll('.picker'), function (p) {
      var q = p.querySelector('input[type=search]'), sel = p.querySelector('select');
      q.addEventListener('input', function () {
        var t = q.value.trim();
        Array.prototype.forEach.call(sel.options, function (o) { o.hidden = !!t && o.textContent.indexOf(t) < 0; });
        var first = Array.prototype.filter.call(sel.options, function (o) { return !o.hidden; })[0];
        if (first && (sel.selectedIndex < 0 || sel.options[sel.selectedIndex].hidden)) sel.value = first.value;
      });
    });
  }

  function copyText(text, btn) {
    function done() { btn.textContent = '已复制'; setTimeout(function () { btn.textContent = '复制'; }, 2000); }
    if (navigator.clipboard && navigator.clipboard.writeText) return navigator.clipboard.writeText(text).then(done, fallback);
    fallback();
    function fallback() {
      var t = document.createElement('textarea'); t.value = text; document.body.appendChild(t); t.select();
      try { document.execCommand('copy'); done(); } catch (e) { btn.textContent = '请长按复制'; }
      t.remove();
    }
  }

  /* A modal dialog with html; resolves with the dialog element once shown. */
  function dialog(html) {
    var d = document.createElement('dialog');
    d.innerHTML = html;
    document.body.appendChild(d);
    d.addEventListener('close', function () { d.remove(); });
    if (d.showModal) d.showModal(); else d.setAttribute('open', '');
    return d;
  }
  function confirmBox(text, yes) {
    return new Promise(function (resolve) {
      var d = dialog('<p>' + esc(text) + '</p><div class="actions"><button class="primary" data-yes>' + esc(yes) + '</button><button data-no>取消</button></div>');
      d.querySelector('[data-yes]').onclick = function () { d.close(); resolve(true); };
      d.querySelector('[data-no]').onclick = function () { d.close(); resolve(false); };
    });
  }

  /* Shows a temporary password once, with a copy button. */
  function showTemp(user, temp) {
    var d = dialog('<h2>临时密码</h2><p>请把临时密码告诉 <b>' + esc(user.name) + '</b>（' + esc(user.phone || user.username || '') + '）。' +
      '它只显示这一次；对方用它登录后须立即设置新密码。</p><p class="secret" id="temp-pw">' + esc(temp) + '</p>' +
      '<div class="actions"><button class="primary" id="temp-copy">复制</button><button id="temp-close">我已记下</button></div>');
    d.querySelector('#temp-copy').onclick = function () { copyText(temp, this); };
    d.querySelector('#temp-close').onclick = function () { d.close(); };
  }

  function resetPassword(u, after) {
    return confirmBox('重置 ' + u.name + ' 的密码？原密码立即失效，对方的所有登录都会退出。', '重置密码').then(function (ok) {
      if (!ok) return;
      return NX.post('/users/' + encodeURIComponent(u.id) + '/password-reset').then(function (r) {
        showTemp(u, r.temporary_password);
        if (after) after();
      }, function (err) { dialog('<p class="error">' + esc(NX.errText(err)) + '</p><button onclick="this.closest(\'dialog\').close()">关闭</button>'); });
    });
  }

  function scopeText(u, rg, st) {
    if (u.township_id) return (rg.byID[u.township_id] || {}).name || '（乡镇已删除）';
    if (u.station_id) {
      var s = st.filter(function (x) { return x.id === u.station_id; })[0];
      return s ? s.name : '（站点）';
    }
    return '';
  }

  /* ---------- accounts list ---------- */
  NX.view('accounts', {
    title: '账号', roles: ['admin', 'auditor', 'officer'], hint: '新建、修改、停用账号，重置密码',
    render: function (el) {
      var me = NX.user, admin = me.role === 'admin', officer = me.role === 'officer';
      var state = { offset: 0 };
      el.innerHTML = '<h1>' + (officer ? '本乡镇学员账号' : '账号管理') + '</h1>' +
        (officer ? '<p class="muted">学员忘记密码时，在这里为其重置：输入姓名或手机号查找。</p>' : '') +
        '<form id="acc-filter" class="row" role="search">' +
        (officer ? '' : '<label>角色<select name="role">' + roleOpts('', '全部角色') + '</select></label>' +
          '<label>状态<select name="disabled"><option value="">全部</option><option value="false">正常</option><option value="true">已停用</option></select></label>') +
        '<label>搜索<input type="search" name="q" placeholder="姓名、用户名或手机号" maxlength="50"></label>' +
        (officer ? '' : '<label>乡镇<select name="township_id"><option value="">全部乡镇</option></select></label>') +
        '</form>' +
        (admin ? '<p><a href="#/account/new" class="tag good" id="acc-new" style="font-size:1rem;padding:.4rem .8rem">＋ 新建账号</a></p>' : '') +
        '<div id="acc-list"><p class="muted">加载中…</p></div>' +
        '<div class="actions"><button id="acc-prev" class="small" hidden>上一页</button><button id="acc-next" class="small" hidden>下一页</button></div>';
      var form = el.querySelector('#acc-filter'), box = el.querySelector('#acc-list');
      var rg, st = [];
      function load() {
        var f = NX.form(form), q = ['limit=' + PAGE, 'offset=' + state.offset];
        Object.keys(f).forEach(function (k) { q.push(k + '=' + encodeURIComponent(f[k])); });
        box.innerHTML = '<p class="muted">加载中…</p>';
        NX.get('/users?' + q.join('&')).then(function (r) {
          if (!document.body.contains(box)) return; // the page was left meanwhile
          var items = r.items || [];
          el.querySelector('#acc-prev').hidden = state.offset === 0;
          el.querySelector('#acc-next').hidden = !r.more;
          if (!items.length) { box.innerHTML = '<p class="muted">没有符合条件的账号。</p>'; return; }
          box.innerHTML = '<table class="rows" id="acc-table"><thead><tr><th>姓名</th><th>登录名</th><th>角色</th><th>乡镇/站点</th><th>状态</th><th>操作</th></tr></thead><tbody>' +
            items.map(function (u) {
              var acts = [];
              if (admin) acts.push('<a href="#/account/' + esc(u.id) + '">编辑</a>');
              if ((admin || officer) && u.id !== me.id) acts.push('<button class="small" data-reset="' + esc(u.id) + '">重置密码</button>');
              if (admin && u.id !== me.id) acts.push(u.disabled ? '<button class="small" data-enable="' + esc(u.id) + '">启用</button>' : '<button class="small danger" data-disable="' + esc(u.id) + '">停用</button>');
              return '<tr data-id="' + esc(u.id) + '"><td data-label="姓名">' + esc(u.name) + '</td><td data-label="登录名">' + esc([u.username, u.phone].filter(Boolean).join(' / ')) +
                '</td><td data-label="角色">' + esc(NX.label('role', u.role)) + '</td><td data-label="乡镇/站点">' + esc(scopeText(u, rg, st) || '—') +
                '</td><td data-label="状态">' + (u.disabled ? '<span class="tag bad">已停用</span>' : (u.must_change_password ? '<span class="tag warn">待改密码</span>' : '<span class="tag good">正常</span>')) +
                '</td><td data-label="操作"><span class="actions">' + (acts.join('') || '—') + '</span></td></tr>';
            }).join('') + '</tbody></table>';
          box.querySelectorAll('[data-reset]').forEach(function (b) {
            b.onclick = function () { resetPassword(items.filter(function (u) { return u.id === b.dataset.reset; })[0], load); };
          });
          box.querySelectorAll('[data-disable],[data-enable]').forEach(function (b) {
            b.onclick = function () {
              var id = b.dataset.disable || b.dataset.enable, u = items.filter(function (x) { return x.id === id; })[0];
              var dis = !!b.dataset.disable;
              (dis ? confirmBox('停用 ' + u.name + ' 的账号？对方会立即退出，不能再登录。', '停用') : Promise.resolve(true)).then(function (ok) {
                if (!ok) return;
                NX.post('/users/' + encodeURIComponent(id) + (dis ? '/disable' : '/enable')).then(load, fail(box));
              });
            };
          });
        }, fail(box));
      }
      var timer;
      form.addEventListener('input', function () { clearTimeout(timer); timer = setTimeout(function () { state.offset = 0; load(); }, 300); });
      form.addEventListener('submit', function (e) { e.preventDefault(); state.offset = 0; load(); });
      el.querySelector('#acc-prev').onclick = function () { state.offset = Math.max(0, state.offset - PAGE); load(); };
      el.querySelector('#acc-next').onclick = function () { state.offset += PAGE; load(); };
      return Promise.all([regions(), officer ? [] : stations()]).then(function (r) {
        rg = r[0]; st = r[1];
        var tsel = form.querySelector('select[name=township_id]');
        if (tsel) tsel.innerHTML += rg.list.filter(function (x) { return x.level === 'township'; }).map(function (t) { return '<option value="' + esc(t.id) + '">' + esc(t.name) + '</option>'; }).join('');
        load();
      });
    }
  });

  /* ---------- create or edit one account (admin) ---------- */
  NX.view('account', {
    title: '账号', roles: ['admin'], menu: false,
    render: function (el, args) {
      var id = args[0] || 'new', create = id === 'new';
      return Promise.all([regions(), stations(), create ? null : NX.get('/users/' + encodeURIComponent(id))]).then(function (r) {
        var rg = r[0], st = r[1], u = r[2] || { role: 'trainer' };
        var twps = rg.list.filter(function (x) { return x.level === 'township'; }).map(function (t) { return { id: t.id, label: t.name }; });
        var stns = st.map(function (s) { return { id: s.id, label: s.name + (rg.byID[s.region_id] ? '（' + rg.byID[s.region_id].name + '）' : '') }; });
        el.innerHTML = '<p><a href="#/accounts">← 返回账号列表</a></p><h1>' + (create ? '新建账号' : '修改账号：' + esc(u.name)) + '</h1>' +
          '<form id="acc-form" class="card" novalidate>' +
          '<label>角色<select name="role" required>' + roleOpts(u.role) + '</select></label>' +
          '<p class="muted small" id="acc-role-hint"></p>' +
          '<label>姓名<input name="name" required maxlength="50" value="' + esc(u.name || '') + '" autocomplete="off"></label>' +
          '<div class="row"><label>用户名<input name="username" maxlength="32" value="' + esc(u.username || '') + '" autocomplete="off" autocapitalize="off" placeholder="字母开头，3-32 位"></label>' +
          '<label>手机号<input name="phone" inputmode="numeric" maxlength="11" value="' + esc(u.phone || '') + '" autocomplete="off" placeholder="11 位手机号"></label></div>' +
          '<div id="acc-twp">' + picker('township_id', '所属乡镇', twps, u.township_id) + '</div>' +
          '<div id="acc-stn">' + (stns.length ? picker('station_id', '所属服务站点', stns, u.station_id) : '<p class="muted">还没有服务站点：请先在“服务站点”里新建。</p>') + '</div>' +
          (create ? '<label>初始密码<input name="password" required minlength="8" maxlength="128" autocomplete="new-password"></label>' +
            '<p class="small"><button type="button" class="small" id="acc-gen">生成一个密码</button> <span class="muted">至少 8 位，避免连续数字、常见单词、姓名和手机号。</span></p>' : '') +
          '<button type="submit" class="primary">' + (create ? '创建账号' : '保存') + '</button><p class="error" role="alert" id="acc-err"></p></form>' +
          (create ? '' : '<div class="card"><h2>密码与状态</h2><p>' + (u.disabled ? '<span class="tag bad">已停用</span>' : '<span class="tag good">正常</span>') +
            (u.must_change_password ? ' <span class="tag warn">待改密码</span>' : '') + '</p><div class="actions">' +
            (u.id !== NX.user.id ? '<button id="acc-reset">重置密码</button>' + (u.disabled ? '<button id="acc-enable">启用</button>' : '<button class="danger" id="acc-disable">停用</button>') : '<a href="#/password">修改我的密码</a>') +
            '</div></div>');
        var form = el.querySelector('#acc-form'), err = el.querySelector('#acc-err');
        wirePickers(form);
        var hints = { trainee: '学员账号通常在“学员”里登记学员时一并开通；这里只为已有学员补开或修改。', officer: '乡镇联络员只能看到本乡镇的数据。', station: '服务站账号只能操作自己的站点。', auditor: '审计账号可查看全部数据与审计日志，不能修改。' };
        function roleChanged() {
          var role = form.role.value;
          el.querySelector('#acc-twp').hidden = role !== 'officer';
          el.querySelector('#acc-stn').hidden = role !== 'station';
          el.querySelector('#acc-role-hint').textContent = hints[role] || '';
        }
        form.role.onchange = roleChanged; roleChanged();
        var gen = el.querySelector('#acc-gen');
        if (gen) gen.onclick = function () {
          var a = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789', b = new Uint8Array(12), s = '';
          crypto.getRandomValues(b);
          for (var i = 0; i < 12; i++) s += a[b[i] % 32] + (i === 3 || i === 7 ? '-' : '');
          form.password.value = s;
        };
        form.addEventListener('submit', function (e) {
          e.preventDefault(); err.textContent = '';
          var role = form.role.value, body = { role: role, name: form.name.value.trim(), username: form.username.value.trim(), phone: form.phone.value.trim() };
          body.township_id = role === 'officer' ? (form.township_id && form.township_id.value) || '' : '';
          body.station_id = role === 'station' ? (form.station_id && form.station_id.value) || '' : '';
          if (create) { body.password = form.password.value; if (!body.username) delete body.username; if (!body.phone) delete body.phone; }
          var btn = form.querySelector('button[type=submit]'); btn.disabled = true;
          (create ? NX.post('/users', body) : NX.patch('/users/' + encodeURIComponent(id), body)).then(function (saved) {
            NX.go('#/account/' + saved.id);
            if (!create) NX.route();
            setTimeout(function () { var m = document.getElementById('acc-saved'); if (m) m.hidden = false; }, 50);
          }, function (x) { err.textContent = NX.errText(x); btn.disabled = false; });
        });
        if (!create) {
          el.insertAdjacentHTML('afterbegin', '<p class="ok" id="acc-saved" role="status" hidden>已保存。</p>');
          var b;
          if ((b = el.querySelector('#acc-reset'))) b.onclick = function () { resetPassword(u, NX.route); };
          if ((b = el.querySelector('#acc-disable'))) b.onclick = function () {
            confirmBox('停用 ' + u.name + ' 的账号？对方会立即退出，不能再登录。', '停用').then(function (ok) { if (ok) NX.post('/users/' + id + '/disable').then(NX.route, function (x) { err.textContent = NX.errText(x); }); });
          };
          if ((b = el.querySelector('#acc-enable'))) b.onclick = function () { NX.post('/users/' + id + '/enable').then(NX.route, function (x) { err.textContent = NX.errText(x); }); };
        }
      });
    }
  });

  /* ---------- regions: county → townships → villages ---------- */
  NX.view('regions', {
    title: '区域', roles: ['admin', 'auditor'], hint: '县、乡镇、行政村与贫困村标记',
    render: function (el) {
      var admin = NX.user.role === 'admin';
      return regions(true).then(function (rg) {
        var county = rg.list.filter(function (x) { return x.level === 'county'; })[0];
        var kids = {};
        rg.list.forEach(function (x) { (kids[x.parent_id] = kids[x.parent_id] || []).push(x); });
        var nv = rg.list.filter(function (x) { return x.level === 'village'; }), np = nv.filter(function (x) { return x.poverty; }).length;
        function node(x) {
          return '<span class="node" data-id="' + esc(x.id) + '"><span class="name">' + (x.level === 'village' ? esc(x.name) : '<b>' + esc(x.name) + '</b>') + '</span>' +
            (x.level === 'village' && !admin && x.poverty ? '<span class="tag warn">贫困村</span>' : '') +
            (admin ? (x.level === 'village' ? '<label><input type="checkbox" data-poverty' + (x.poverty ? ' checked' : '') + '>贫困村</label>' : '') + '<button class="small" data-rename>改名</button>' : '') + '</span>';
        }
        var tree = county ? '<div class="tree card" id="rg-tree"><ul><li>' + node(county) + '<ul>' + (kids[county.id] || []).map(function (t) {
          var vs = kids[t.id] || [];
          return '<li><details><summary>' + node(t) + ' <span class="muted small">' + vs.length + ' 个村</span></summary><ul>' +
            vs.map(function (v) { return '<li>' + node(v) + '</li>'; }).join('') +
            (admin ? '<li><form class="row rg-add" data-parent="' + esc(t.id) + '"><input name="name" placeholder="新增行政村名称" maxlength="40" aria-label="新增行政村名称"><button class="small">新增</button></form></li>' : '') +
            '</ul></details></li>';
        }).join('') + '</ul></li></ul></div>' : '<p class="muted">还没有区域数据。</p>';
        el.innerHTML = '<h1>区域</h1>' + (county ? '<p class="muted">' + (kids[county.id] || []).length + ' 个乡镇 · ' + nv.length + ' 个行政村 · 其中贫困村 ' + np + ' 个</p>' : '') + tree +
          (admin ? '<div class="card"><h2>导入区域</h2><p class="small muted">XLSX 或 CSV，表头为 区划代码、名称、级别、上级代码、贫困村（也可写 code,name,level,parent_code,poverty；级别写 县/乡镇/村；贫困村写 是 或 1）。上级可写在同一个表的前面几行。先预览，确认无误后再导入；已有代码的行保持不变，重复导入不会重复创建。</p>' +
            '<form id="rg-import"><label>表格文件<input type="file" name="file" accept=".csv,.xlsx,.txt" required></label><progress value="0" max="1" hidden></progress><button class="primary">预览</button></form><div id="rg-result" role="status"></div>' +
            (county ? '' : '<p><button id="rg-demo">载入演示县（会泽县 23 个乡镇）</button></p>') + '</div>' : '');
        var msg = function (t, cls) { var r = el.querySelector('#rg-result'); if (r) r.innerHTML = '<p class="' + (cls || '') + '">' + esc(t) + '</p>'; };
        if (!admin) return;
        el.querySelectorAll('[data-rename]').forEach(function (b) {
          b.onclick = function (e) {
            e.preventDefault();
            var n = b.closest('.node'), x = rg.byID[n.dataset.id];
            var d = dialog('<form><label>新名称<input name="name" required maxlength="40" value="' + esc(x.name) + '"></label><p class="error" role="alert"></p><div class="actions"><button class="primary">保存</button><button type="button" data-no>取消</button></div></form>');
            d.querySelector('[data-no]').onclick = function () { d.close(); };
            d.querySelector('form').onsubmit = function (ev) {
              ev.preventDefault();
              NX.patch('/regions/' + x.id, { name: this.name.value }).then(function () { d.close(); NX.route(); }, function (er) { d.querySelector('.error').textContent = NX.errText(er); });
            };
          };
        });
        el.querySelectorAll('[data-poverty]').forEach(function (c) {
          c.onchange = function () {
            var id = c.closest('.node').dataset.id;
            NX.patch('/regions/' + id, { poverty: c.checked }).then(function () { rg.byID[id].poverty = c.checked; }, function (er) { c.checked = !c.checked; alert(NX.errText(er)); });
          };
        });
        el.querySelectorAll('.rg-add').forEach(function (f) {
          f.onsubmit = function (e) {
            e.preventDefault();
            NX.post('/regions', { name: f.name.value, level: 'village', parent_id: f.dataset.parent, poverty: false }).then(function () { NX.route(); }, function (er) { alert(NX.errText(er)); });
          };
        });
        var demo = el.querySelector('#rg-demo');
        if (demo) demo.onclick = function () { demo.disabled = true; NX.post('/regions/demo').then(function () { NX.route(); }, function (er) { msg(NX.errText(er), 'error'); demo.disabled = false; }); };
        NX.importFlow(el.querySelector('#rg-import'), el.querySelector('#rg-result'), {
          path: '/regions/import', refusedName: '区划未通过的行.xlsx', what: '区域',
          cols: [['代码', function (r) { return r.code; }, true], ['名称', function (r) { return r.name; }], ['级别', function (r) { return LEVEL[r.level] || r.level; }], ['上级代码', function (r) { return r.parent_code; }, true]],
          done: function () {
            var box = el.querySelector('#rg-result'), p = document.createElement('p');
            p.innerHTML = '<button type="button" class="small">刷新区域树</button>'; p.firstChild.onclick = function () { NX.route(); }; box.insertBefore(p, box.firstChild.nextSibling);
          }
        });
      });
    }
  });

  /* ---------- the audit log ---------- */
  var KEYS = { name: '名称', username: '用户名', phone: '手机号', role: '角色', township_id: '乡镇', station_id: '站点', level: '级别', poverty: '贫困村',
    created: '新建', kept: '保留', refused: '未导入', title: '标题', reason: '原因', status: '状态', amount_fen: '金额（元）', month: '月份', count: '数量' };
  var LEVEL = { county: '县', township: '乡镇', village: '行政村' };
  function value(k, v, rg) {
    if (v === true) return '是';
    if (v === false) return '否';
    if (v == null || v === '') return '空';
    if (k === 'role') return NX.label('role', v);
    if (k === 'level') return LEVEL[v] || v;
    if (k === 'amount_fen') return NX.yuan(v);
    if ((k === 'township_id' || k === 'region_id') && rg && rg.byID[v]) return rg.byID[v].name;
    if (typeof v === 'object') return JSON.stringify(v);
    return String(v);
  }
  function detailText(d, rg) {
    if (!d) return '';
    return Object.keys(d).map(function (k) {
      var v = d[k];
      v = v && typeof v === 'object' && 'from' in v ? value(k, v.from, rg) + ' → ' + value(k, v.to, rg) : value(k, v, rg);
      return (KEYS[k] || k) + '：' + v;
    }).join('；');
  }
  function targetText(x, rg) {
    if (rg && rg.byID[x.target]) return rg.byID[x.target].name;
    var n = x.detail && x.detail.name;
    if (n && typeof n === 'string') return n;
    return x.target;
  }
  NX.view('audit', {
    title: '审计日志', roles: ['admin', 'auditor'], hint: '谁在何时做了什么',
    render: function (el) {
      var stack = [''];
      return Promise.all([NX.labels(), NX.get('/users?limit=200&disabled=false').catch(function () { return { items: [] }; }), regions().catch(function () { return null; })]).then(function (r) {
        var acts = r[0].audit_action || {}, people = r[1].items.filter(function (u) { return u.role !== 'trainee'; }), rg = r[2];
        el.innerHTML = '<h1>审计日志</h1><form id="au-filter" class="row" role="search">' +
          '<label>操作<select name="action"><option value="">全部操作</option>' +
          '<optgroup label="类别"><option value="user.">账号（全部）</option><option value="region.">区域（全部）</option><option value="funds.">资金（全部）</option><option value="station.">站点（全部）</option><option value="certificates.">证书（全部）</option></optgroup><optgroup label="单项">' +
          Object.keys(acts).sort().map(function (k) { return '<option value="' + esc(k) + '">' + esc(acts[k]) + '</option>'; }).join('') + '</optgroup></select></label>' +
          '<label>操作人<select name="user_id"><option value="">所有人</option><option value="system">系统</option>' +
          people.map(function (u) { return '<option value="' + esc(u.id) + '">' + esc(u.name + ' · ' + NX.label('role', u.role)) + '</option>'; }).join('') + '</select></label>' +
          '<label>对象<input name="target" maxlength="200" placeholder="对象编号"></label>' +
          '<label>从<input type="date" name="from" min="2000-01-01" max="2100-12-31"></label><label>到<input type="date" name="to" min="2000-01-01" max="2100-12-31"></label>' +
          '<button type="submit" class="small">查询</button></form><div id="au-list"></div>' +
          '<div class="actions"><button id="au-prev" class="small" hidden>上一页</button><button id="au-next" class="small" hidden>下一页</button></div>';
        var form = el.querySelector('#au-filter'), box = el.querySelector('#au-list'), page = 0, next = '';
        function load() {
          var f = NX.form(form), q = ['limit=' + PAGE];
          Object.keys(f).forEach(function (k) { q.push(k + '=' + encodeURIComponent(f[k])); });
          if (stack[page]) q.push('before=' + encodeURIComponent(stack[page]));
          box.innerHTML = '<p class="muted">加载中…</p>';
          NX.get('/audit?' + q.join('&')).then(function (r) {
            next = r.next_before;
            el.querySelector('#au-prev').hidden = page === 0;
            el.querySelector('#au-next').hidden = !next;
            if (!r.items.length) { box.innerHTML = '<p class="muted">没有符合条件的记录。</p>'; return; }
            box.innerHTML = '<table class="rows" id="au-table"><thead><tr><th>时间</th><th>操作人</th><th>操作</th><th>对象</th><th>详情</th></tr></thead><tbody>' +
              r.items.map(function (x) {
                return '<tr><td data-label="时间">' + esc(NX.time(x.at)) + '</td><td data-label="操作人">' + esc(x.role === 'system' ? '系统' : (x.name || '') + ' · ' + NX.label('role', x.role)) +
                  '</td><td data-label="操作">' + esc(NX.label('audit_action', x.action)) + '</td><td data-label="对象"><span class="small">' + esc(targetText(x, rg)) +
                  '</span></td><td data-label="详情"><span class="small">' + esc(detailText(x.detail, rg)) + '</span></td></tr>';
              }).join('') + '</tbody></table>';
          }, fail(box));
        }
        form.addEventListener('submit', function (e) { e.preventDefault(); page = 0; stack = ['']; load(); });
        form.addEventListener('change', function () { page = 0; stack = ['']; load(); });
        el.querySelector('#au-next').onclick = function () { page++; stack[page] = next; load(); };
        el.querySelector('#au-prev').onclick = function () { page = Math.max(0, page - 1); load(); };
        load();
      });
    }
  });

  /* ---------- change my password (also the forced change after a reset) ---------- */
  NX.view('password', {
    title: '修改密码', menu: false,
    render: function (el) {
      var forced = NX.user.must_change_password;
      el.innerHTML = '<h1>' + (forced ? '请设置新密码' : '修改密码') + '</h1>' +
        (forced ? '<p class="card">您的密码已被管理员或联络员重置。请输入刚拿到的临时密码，再设置一个只有您知道的新密码，之后才能继续使用。</p>' : '') +
        '<form id="pw-form" class="card">' +
        '<label>' + (forced ? '临时密码' : '原密码') + '<input type="password" name="old_password" required autocomplete="current-password"></label>' +
        '<label>新密码<input type="password" name="new_password" required minlength="8" maxlength="128" autocomplete="new-password"></label>' +
        '<label>再输入一次新密码<input type="password" name="again" required autocomplete="new-password"></label>' +
        '<p class="small muted">至少 8 位；避免 12345678、password 这类连续或常见的写法，也不要用姓名和手机号。可以用两三个词加数字。</p>' +
        '<button type="submit" class="primary">保存新密码</button><p class="error" id="pw-err" role="alert"></p></form>' +
        (forced ? '' : '<p><a href="#/">返回首页</a></p>');
      var form = el.querySelector('#pw-form'), err = el.querySelector('#pw-err');
      form.addEventListener('submit', function (e) {
        e.preventDefault(); err.textContent = '';
        if (form.new_password.value !== form.again.value) { err.textContent = '两次输入的新密码不一致'; return; }
        var btn = form.querySelector('button'); btn.disabled = true;
        NX.post('/me/password', { old_password: form.old_password.value, new_password: form.new_password.value }).then(function (s) {
          history.replaceState(null, '', '#/');
          NX.saveSession(s);
          NX.labels(true).then(function () {
            var v = document.getElementById('view');
            if (v && !document.getElementById('pw-done')) v.insertAdjacentHTML('afterbegin', '<p class="ok" role="status" id="pw-done">密码已修改，其他设备上的登录已退出。</p>');
          });
        }, function (x) { err.textContent = NX.errText(x); btn.disabled = false; });
      });
    }
  });
})();
