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
    S.setItem('nx.access', sess.access_token);
    S.setItem('nx.refresh', sess.refresh_token);
    S.setItem('nx.user', JSON.stringify(sess.user));
    NX.user = sess.user;
  }
  function clear() { ['nx.access', 'nx.refresh', 'nx.user'].forEach(function (k) { S.removeItem(k); }); NX.user = null; }

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
      if (r.status === 401 && !retried && S.getItem('nx.refresh')) {
        return refresh().then(function (ok) { if (ok) return NX.api(method, path, body, true); show(); throw { status: 401, message: '请重新登录' }; });
      }
      var ct = r.headers.get('Content-Type') || '';
      var p = ct.indexOf('json') >= 0 ? r.json() : r.text();
      return p.then(function (data) {
        if (!r.ok) { var e = new Error((data && data.error && data.error.message) || ('HTTP ' + r.status)); e.status = r.status; e.data = data; throw e; }
        return data;
      });
    });
  };
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
    var v = views[name];
    if (!v || !allowed(v)) { name = 'home'; v = views.home; parts = []; }
    var menu = document.getElementById('menu');
    menu.innerHTML = order.filter(function (n) { return views[n].menu !== false && allowed(views[n]); }).map(function (n) {
      return '<a href="#/' + n + '"' + (n === name ? ' class="on"' : '') + '>' + NX.esc(views[n].title) + '</a>';
    }).join('');
    var el = document.getElementById('view');
    el.innerHTML = '<p class="muted">加载中…</p>';
    document.title = v.title + ' · 农训';
    Promise.resolve().then(function () { return v.render(el, parts.slice(1)); }).catch(function (err) {
      el.innerHTML = '<p class="error">' + NX.esc(NX.errText(err)) + '</p>';
    });
  }
  NX.route = route;

  function show() {
    var u = NX.user;
    document.getElementById('login').hidden = !!u;
    document.getElementById('app').hidden = !u;
    document.getElementById('logout').hidden = !u;
    document.getElementById('who').textContent = u ? (u.name + ' · ' + (roleName[u.role] || u.role)) : '';
    if (u) route();
  }

  NX.view('home', {
    title: '首页', render: function (el) {
      var items = order.filter(function (n) { return n !== 'home' && views[n].menu !== false && allowed(views[n]); });
      el.innerHTML = '<h1>您好，' + NX.esc(NX.user.name) + '</h1><p class="muted">' + NX.esc(roleName[NX.user.role]) + '</p>' +
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
      NX.api('POST', '/auth/login', NX.form(f)).then(function (s) { save(s); f.reset(); show(); })
        .catch(function (x) { err.textContent = NX.errText(x); })
        .then(function () { f.querySelector('button').disabled = false; });
    });
    document.getElementById('logout').addEventListener('click', function () {
      NX.api('POST', '/auth/logout', { refresh_token: S.getItem('nx.refresh') || '' }).catch(function () {});
      clear(); location.hash = '#/'; show();
    });
    window.addEventListener('hashchange', route);
    function net() { document.getElementById('net').hidden = navigator.onLine; }
    window.addEventListener('online', net); window.addEventListener('offline', net); net();
    if ('serviceWorker' in navigator) navigator.serviceWorker.register('/sw.js').catch(function () {});
    show();
  });
})();
