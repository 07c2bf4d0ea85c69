/* 农训 app shell: login, tokens, menu by role, hash routing, helpers.
   Feature scripts call NX.view(name, {title, roles, render(el, args)}). */
(function () {
  'use strict';
  var views = {}, order = [];
  var S = window.localStorage;
  var NX = window.NX = {
    user: null,
    view: function (name, def) { if (!views[name]) order.push(name); views[name] = def; },
    go: function (hash) { location.hash = hash; },
    esc: function (s) { return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) { return '&#' + c.charCodeAt(0) + ';'; }); },
    yuan: function (fen) { return (Number(fen || 0) / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2, maximumFractionDigits: 2 }); },
    date: function (t) { if (!t) return ''; var d = new Date(t); return isNaN(d) ? String(t) : d.toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }); },
    time: function (t) { if (!t) return ''; var d = new Date(t); return isNaN(d) ? String(t) : d.toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai', hour12: false }); },
    token: function () { return S.getItem('nx.access') || ''; },
    h: function (html) { var t = document.createElement('template'); t.innerHTML = html.trim(); return t.content.firstChild; },
    form: function (f) {
      var o = {};
      Array.prototype.forEach.call(f.elements, function (e) {
        if (!e.name || e.disabled) return;
        if (e.type === 'checkbox') { if (e.dataset.list) { o[e.name] = o[e.name] || []; if (e.checked) o[e.name].push(e.value); } else o[e.name] = e.checked; }
        else if (e.type === 'number') { if (e.value !== '') o[e.name] = Number(e.value); }
        else if (e.type === 'datetime-local') { if (e.value) o[e.name] = new Date(e.value).toISOString(); }
        else if (e.value !== '') o[e.name] = e.value;
      });
      return o;
    },
    errText: function (err) {
      var d = err && err.data && err.data.error;
      if (!d) return err && err.message ? err.message : '出错了，请稍后再试';
      var s = d.message || '';
      if (d.fields) s += '：' + Object.keys(d.fields).map(function (k) { return d.fields[k]; }).join('；');
      return s;
    }
  };

  function save(sess) {
    var u = sess.user || {};
    u.must_change_password = !!sess.must_change_password;
    S.setItem('nx.access', sess.access_token);
    S.setItem('nx.refresh', sess.refresh_token);
    S.setItem('nx.user', JSON.stringify(u));
    NX.user = u;
  }
  NX.saveSession = function (sess) { save(sess); show(); };
  function clear() { ['nx.access', 'nx.refresh', 'nx.user'].forEach(function (k) { S.removeItem(k); }); NX.user = null; }

  /* NX.label(kind, code): the Chinese label of a code shown to people
     (role, group, audit_action…), from GET /api/v1/labels, loaded once
     after login and kept in localStorage; the code itself when unknown. */
  var labels = null;
  try { labels = JSON.parse(S.getItem('nx.labels') || 'null'); } catch (e) { labels = null; }
  var labelsLoading = null;
  NX.labels = function (force) {
    if (labels && !force) return Promise.resolve(labels);
    if (!labelsLoading) {
      labelsLoading = NX.get('/labels').then(function (l) { labels = l; S.setItem('nx.labels', JSON.stringify(l)); return l; })
        .catch(function () { return labels || {}; }).then(function (l) { labelsLoading = null; return l; });
    }
    return labelsLoading;
  };
  NX.label = function (kind, code) {
    var k = labels && labels[kind];
    if (k && k[code] != null) return k[code];
    if (kind === 'role' && roleName[code]) return roleName[code];
    return code == null ? '' : String(code);
  };

  /* The offline banner: shown while the browser is offline or the server
     cannot be reached, hidden again as soon as a request gets through. */
  function netState(ok) { var n = document.getElementById('net'); if (n) n.hidden = ok; }
  NX.netState = netState;

  var refreshing = null;
  function refresh() {
    if (!refreshing) {
      refreshing = fetch('/api/v1/auth/refresh', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ refresh_token: S.getItem('nx.refresh') || '' }) })
        .then(function (r) { if (!r.ok) throw new Error('expired'); return r.json(); })
        .then(function (s) { save(s); return true; })
        .catch(function () { clear(); return false; })
        .then(function (ok) { refreshing = null; return ok; });
    }
    return refreshing;
  }

  /* NX.api(method, path, body) → parsed JSON; throws {status, data}. */
  NX.api = function (method, path, body, retried) {
    var opt = { method: method, headers: {} };
    if (NX.token()) opt.headers.Authorization = 'Bearer ' + NX.token();
    if (body !== undefined) { opt.headers['Content-Type'] = 'application/json'; opt.body = JSON.stringify(body); }
    return fetch('/api/v1' + path, opt).then(function (r) {
      netState(true);
      if (r.status === 401 && !retried && S.getItem('nx.refresh')) {
        return refresh().then(function (ok) { if (ok) return NX.api(method, path, body, true); show(); throw { status: 401, message: '请重新登录' }; });
      }
      var ct = r.headers.get('Content-Type') || '';
      var p = ct.indexOf('json') >= 0 ? r.json() : r.text();
      return p.then(function (data) {
        if (!r.ok) {
          var e = new Error((data && data.error && data.error.message) || ('HTTP ' + r.status)); e.status = r.status; e.data = data;
          if (r.status === 403 && data && data.error && data.error.rule === 'must_change_password' && NX.user) {
            NX.user.must_change_password = true; S.setItem('nx.user', JSON.stringify(NX.user)); setTimeout(route);
          }
          throw e;
        }
        return data;
      });
    }, function (err) { netState(false); throw new Error('网络不通，请检查网络后重试'); });
  };
  NX.patch = function (p, b) { return NX.api('PATCH', p, b); };
  NX.get = function (p) { return NX.api('GET', p); };
  NX.post = function (p, b) { return NX.api('POST', p, b === undefined ? {} : b); };

  /* NX.upload(path, formData, onProgress) → JSON, with an XHR for progress. */
  NX.upload = function (path, fd, onProgress, retried) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open('POST', '/api/v1' + path);
      x.setRequestHeader('Authorization', 'Bearer ' + NX.token());
      x.upload.onprogress = function (e) { if (e.lengthComputable && onProgress) onProgress(e.loaded / e.total); };
      x.onload = function () {
        var data; try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
        if (x.status === 401 && !retried) { refresh().then(function (ok) { if (ok) NX.upload(path, fd, onProgress, true).then(resolve, reject); else reject(new Error('请重新登录')); }); return; }
        if (x.status >= 200 && x.status < 300) resolve(data);
        else { var e = new Error((data && data.error && data.error.message) || ('上传失败（' + x.status + '）')); e.status = x.status; e.data = data; reject(e); }
      };
      x.onerror = function () { reject(new Error('网络中断，上传失败，请重试')); };
      x.send(fd);
    });
  };

  /* NX.download(path, name): fetches with the token and saves the file. */
  NX.download = function (path, name) {
    return fetch('/api/v1' + path, { headers: { Authorization: 'Bearer ' + NX.token() } }).then(function (r) {
      if (!r.ok) throw new Error('下载失败（' + r.status + '）');
      return r.blob();
    }).then(function (b) {
      var a = document.createElement('a'); a.href = URL.createObjectURL(b); a.download = name || ''; document.body.appendChild(a); a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    });
  };

  var roleName = { admin: '管理员', officer: '乡镇联络员', trainer: '培训讲师', trainee: '学员', station: '服务站', auditor: '审计' };
  NX.roleName = roleName;

  function allowed(v) { return NX.user && (!v.roles || v.roles.indexOf(NX.user.role) >= 0); }

  function route() {
    if (!NX.user) return show();
    var parts = (location.hash || '#/').slice(2).split('/').map(decodeURIComponent);
    var name = parts[0] || 'home';
    var forced = NX.user.must_change_password && views.password;
    if (forced) { name = 'password'; parts = ['password']; }
    var v = views[name];
    if (!v || !allowed(v)) { name = 'home'; v = views.home; parts = []; }
    var menu = document.getElementById('menu');
    menu.hidden = !!forced;
    menu.innerHTML = order.filter(function (n) { return views[n].menu !== false && allowed(views[n]); }).map(function (n) {
      return '<a href="#/' + n + '"' + (n === name ? ' class="on" aria-current="page"' : '') + '>' + NX.esc(views[n].title) + '</a>';
    }).join('');
    var on = menu.querySelector('a.on');
    if (on && on.scrollIntoView) on.scrollIntoView({ block: 'nearest', inline: 'center' });
    /* Each visit renders into a fresh element: a slower render of a page
       left meanwhile writes into its own detached element, never over the
       page now shown. */
    var host = document.getElementById('view'), el = document.createElement('div');
    host.innerHTML = '';
    host.appendChild(el);
    el.innerHTML = '<p class="muted">加载中…</p>';
    document.title = v.title + ' · 农训';
    (forced ? Promise.resolve() : NX.labels()).then(function () { if (host.contains(el)) return v.render(el, parts.slice(1)); }).catch(function (err) {
      el.innerHTML = '<p class="error">' + NX.esc(NX.errText(err)) + '</p>';
    });
  }
  NX.route = route;

  function show() {
    var u = NX.user;
    document.getElementById('login').hidden = !!u;
    document.getElementById('app').hidden = !u;
    document.getElementById('logout').hidden = !u;
    document.getElementById('pw-link').hidden = !u;
    document.getElementById('who').textContent = u ? (u.name + ' · ' + NX.label('role', u.role)) : '';
    if (u) route();
  }

  NX.view('home', {
    title: '首页', render: function (el) {
      var items = order.filter(function (n) { return n !== 'home' && views[n].menu !== false && allowed(views[n]); });
      el.innerHTML = '<h1>您好，' + NX.esc(NX.user.name) + '</h1><p class="muted">' + NX.esc(NX.label('role', NX.user.role)) + '</p>' +
        (items.length ? '<div class="grid">' + items.map(function (n) { return '<a class="kpi" href="#/' + n + '"><b>' + NX.esc(views[n].title) + '</b>' + NX.esc(views[n].hint || '') + '</a>'; }).join('') + '</div>'
          : '<p>暂无可用功能。</p>');
    }
  });

  document.addEventListener('DOMContentLoaded', function () {
    try { NX.user = JSON.parse(S.getItem('nx.user') || 'null'); } catch (e) { NX.user = null; }
    document.getElementById('login-form').addEventListener('submit', function (e) {
      e.preventDefault();
      var f = e.target, err = document.getElementById('login-error');
      err.textContent = '';
      f.querySelector('button').disabled = true;
      NX.api('POST', '/auth/login', NX.form(f)).then(function (s) {
        save(s); f.reset();
        if (!s.must_change_password) NX.labels(true);
        show();
      })
        .catch(function (x) { err.textContent = NX.errText(x); })
        .then(function () { f.querySelector('button').disabled = false; });
    });
    document.getElementById('logout').addEventListener('click', function () {
      NX.api('POST', '/auth/logout', { refresh_token: S.getItem('nx.refresh') || '' }).catch(function () {});
      clear(); S.removeItem('nx.labels'); labels = null; location.hash = '#/'; show();
    });
    window.addEventListener('hashchange', route);
    function net() { netState(navigator.onLine); }
    window.addEventListener('online', net); window.addEventListener('offline', net); net();
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(function () {});
    show();
  });
})();
