/* 签到：学员扫码或输入 6 位数字签到（可离线）、新学员登记（扫码或输入数字）、讲师签到屏（轮换二维码、点名、
   查找并添加学员、现场登记、签到表照片）、学员名册（查找、登记、导入、批量报名、更正与合并档案）、培训进度。 */
(function () {
  'use strict';
  var esc = NX.esc;
  var DB = 'nx-checkin', STORE = 'pending';
  var GROUPS = { poverty: '建档立卡贫困户', woman: '妇女', youth: '青年', returnee_graduate: '返乡大学生', returnee_worker: '返乡农民工', veteran: '退役军人', disabled: '残疾人' };
  var GROUP_KEYS = ['poverty', 'woman', 'youth', 'returnee_graduate', 'returnee_worker', 'veteran', 'disabled'];
  var STATUS = { present: '到场', late: '迟到', excused: '请假', absent: '未到' };
  var METHOD = { qr: '扫码', digits: '数字码', offline: '离线扫码', rollcall: '点名', mark: '讲师标记', merge: '档案合并', sheet: '纸质签到表' };
  /* Phone tables: <table class="rows"> become one card per row below 480 px.
     The shell styles them; this fallback (same rules) keeps these pages
     usable at 360 px should the shell's stylesheet lack them. */
  (function rowsFallback() {
    if (document.getElementById('nx-rows-css')) return;
    var st = document.createElement('style');
    st.id = 'nx-rows-css';
    st.textContent = '@media (max-width:480px){table.rows,table.rows tbody,table.rows tr,table.rows td{display:block;width:100%}' +
      'table.rows thead{display:none}table.rows tr{border:1px solid #e2e7e4;border-radius:8px;margin:.4rem 0;padding:.3rem .6rem;background:#fff}' +
      'table.rows td{border:0;padding:.15rem 0}table.rows td[data-label]:not([data-label=""])::before{content:attr(data-label) "：";color:#5c6a62;font-size:.85rem}}';
    document.head.appendChild(st);
  })();
  function groupsText(gs) { return (gs || []).map(function (g) { return GROUPS[g] || '其他'; }).join('、') || '—'; }
  /* The message of an API error alone (a check-in refusal says it once). */
  function msgOnly(x) { return (x && x.data && x.data.error && x.data.error.message) || NX.errText(x); }
  function say(el, cls, text) { if (el) { el.className = cls; el.textContent = text; } }
  function groupBoxes(selected) {
    return '<fieldset><legend>人群类别（可多选）</legend>' + GROUP_KEYS.map(function (g) {
      return '<label style="display:inline-block;margin-right:.8rem"><input type="checkbox" name="groups" data-list="1" value="' + g + '"' +
        ((selected || []).indexOf(g) >= 0 ? ' checked' : '') + '>' + GROUPS[g] + '</label>';
    }).join('') + '</fieldset>';
  }

  /* ---------- regions and the village picker ---------- */
  var regionsP = null;
  function regions() {
    if (!regionsP) regionsP = NX.get('/regions').then(function (rs) { return rs.items || rs; }).catch(function (x) { regionsP = null; throw x; });
    return regionsP;
  }
  /* villagePicker fills box with a search field and a select of villages
     (those of township first, or only them when only is true). */
  function villagePicker(box, all, township, selected, only) {
    var names = {};
    all.forEach(function (r) { names[r.id] = r.name; });
    var vs = all.filter(function (r) { return r.level === 'village' && (!only || !township || r.parent_id === township); });
    vs.sort(function (a, b) { return (b.parent_id === township) - (a.parent_id === township); });
    box.innerHTML = '<label>所在村<input type="search" data-vq placeholder="输入村名查找" autocomplete="off"></label><select name="region_id" required></select>';
    var sel = box.querySelector('select'), q = box.querySelector('[data-vq]');
    function draw() {
      var t = q.value.trim();
      var xs = vs.filter(function (v) { return !t || v.name.indexOf(t) >= 0 || (names[v.parent_id] || '').indexOf(t) >= 0; });
      sel.innerHTML = xs.slice(0, 200).map(function (v) {
        return '<option value="' + esc(v.id) + '"' + (v.id === selected ? ' selected' : '') + '>' + esc(v.name) + (v.parent_id === township ? '' : '（' + esc(names[v.parent_id] || '') + '）') + '</option>';
      }).join('') || '<option value="">没有找到这个村</option>';
    }
    q.addEventListener('input', draw);
    draw();
  }

  /* ---------- offline queue ---------- */
  function db() {
    return new Promise(function (ok, fail) {
      if (!window.indexedDB) return fail(new Error('no indexedDB'));
      var r = indexedDB.open(DB, 1);
      r.onupgradeneeded = function () { r.result.createObjectStore(STORE, { keyPath: 'client_id' }); };
      r.onsuccess = function () { ok(r.result); };
      r.onerror = function () { fail(r.error); };
    });
  }
  function tx(mode, fn) {
    return db().then(function (d) {
      return new Promise(function (ok, fail) {
        var t = d.transaction(STORE, mode), s = t.objectStore(STORE), out = fn(s);
        t.oncomplete = function () { ok(out && out.result !== undefined ? out.result : out); };
        t.onerror = function () { fail(t.error); };
      });
    });
  }
  var queue = {
    add: function (x) { return tx('readwrite', function (s) { s.put(x); }); },
    all: function () { return tx('readonly', function (s) { return s.getAll(); }); },
    del: function (id) { return tx('readwrite', function (s) { s.delete(id); }); }
  };
  function cid() { return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2, 10); }

  /* Uploads what was saved offline and says how it went; returns the number still pending. */
  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    var uploaded = 0, refused = [];
    flushing = queue.all().then(function (list) {
      if (!list.length || !navigator.onLine || !NX.token()) return list.length;
      return NX.post('/checkins/batch', { checkins: list.slice(0, 100) }).then(function (r) {
        return Promise.all(r.results.map(function (x) {
          // An answer (accepted or refused) is final; a server fault stays queued.
          if (x.status || (x.error && x.error.code !== 'internal' && x.error.code !== 'rate_limited')) {
            if (x.error) refused.push(x.error.message); else uploaded++;
            return queue.del(x.client_id);
          }
        }));
      }).then(function () { return queue.all(); }).then(function (l) { return l.length; });
    }).catch(function () { return queue.all().then(function (l) { return l.length; }); })
      .then(function (n) {
        flushing = null;
        showPending(n);
        var msg = document.getElementById('ck-msg');
        if (uploaded || refused.length) {
          say(msg, refused.length ? 'error' : 'ok', (uploaded ? '已上传 ' + uploaded + ' 条签到' : '') +
            (refused.length ? (uploaded ? '；' : '') + refused.length + ' 条未被接受：' + refused.join('；') : ''));
          if (uploaded) { var d = document.getElementById('ck-done'); if (d) d.hidden = false; }
        }
        return n;
      });
    return flushing;
  }
  function showPending(n) {
    var el = document.getElementById('ck-pending');
    if (el) el.textContent = n ? ('有 ' + n + ' 条签到待上传，联网后自动上传') : '';
  }
  function note(msg) { say(document.getElementById('ck-msg'), 'error', msg); }
  window.addEventListener('online', function () { flush(); });
  document.addEventListener('DOMContentLoaded', function () { setTimeout(flush, 1500); });

  function position() {
    return new Promise(function (ok) {
      if (!navigator.geolocation) return ok(null);
      navigator.geolocation.getCurrentPosition(function (p) { ok({ lat: p.coords.latitude, lng: p.coords.longitude, accuracy: p.coords.accuracy }); },
        function () { ok(null); }, { enableHighAccuracy: true, timeout: 8000, maximumAge: 60000 });
    });
  }

  var jsqrLoading = null;
  function loadJsQR() {
    if (window.jsQR) return Promise.resolve();
    if (!jsqrLoading) jsqrLoading = new Promise(function (ok, fail) {
      var s = document.createElement('script'); s.src = '/static/jsqr.min.js'; s.onload = ok; s.onerror = fail; document.head.appendChild(s);
    });
    return jsqrLoading;
  }

  /* Opens the camera in el and resolves with the first QR text read. */
  function scan(el) {
    var video = document.createElement('video');
    video.setAttribute('playsinline', ''); video.muted = true; video.style.width = '100%';
    el.innerHTML = ''; el.appendChild(video);
    var stream, stop = false;
    var done = new Promise(function (resolve, reject) {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } }).then(function (s) {
        stream = s; video.srcObject = s; return video.play();
      }).then(function () {
        var det = ('BarcodeDetector' in window) ? new window.BarcodeDetector({ formats: ['qr_code'] }) : null;
        var canvas = document.createElement('canvas'), ctx = canvas.getContext('2d', { willReadFrequently: true });
        var ready = det ? Promise.resolve() : loadJsQR();
        return ready.then(function () {
          (function tick() {
            if (stop) return;
            if (video.readyState < 2) { setTimeout(tick, 200); return; }
            var p;
            if (det) p = det.detect(video).then(function (r) { return r.length ? r[0].rawValue : null; }).catch(function () { return null; });
            else {
              var w = Math.min(640, video.videoWidth), h = Math.round(video.videoHeight * w / video.videoWidth);
              canvas.width = w; canvas.height = h; ctx.drawImage(video, 0, 0, w, h);
              var r = window.jsQR(ctx.getImageData(0, 0, w, h).data, w, h, { inversionAttempts: 'dontInvert' });
              p = Promise.resolve(r ? r.data : null);
            }
            p.then(function (txt) { if (txt) resolve(txt); else setTimeout(tick, 250); });
          })();
        });
      }).catch(reject);
    });
    var end = function () { stop = true; if (stream) stream.getTracks().forEach(function (t) { t.stop(); }); };
    return { done: done.then(function (t) { end(); return t; }, function (e) { end(); throw e; }), cancel: end };
  }

  /* Sends one check-in; when offline (or the network fails) it is saved for later. */
  function submit(code, sessionID) {
    var msg = document.getElementById('ck-msg');
    say(msg, 'muted', '正在签到…');
    var scannedAt = new Date().toISOString();
    return position().then(function (pos) {
      var body = { code: code, client_id: cid(), scanned_at: scannedAt };
      if (sessionID) body.session_id = sessionID;
      if (pos) { body.lat = pos.lat; body.lng = pos.lng; body.accuracy = pos.accuracy; }
      var save = function () {
        return queue.add(body).then(function () {
          say(msg, 'ok', '当前没有网络，签到已保存在手机上，联网后自动上传'); return flush();
        });
      };
      if (!navigator.onLine) return save();
      return NX.post('/checkins', body).then(function (r) {
        document.getElementById('ck-done').hidden = false;
        say(msg, 'ok', r.already ? '您已签到过，无需重复签到' : (r.walk_in ? '签到成功，已为您报名本课程' : ''));
      }).catch(function (e) {
        if (!e.status) return save();
        say(msg, 'error', msgOnly(e));
      });
    });
  }

  NX.view('checkin', {
    title: '扫码签到', roles: ['trainee'], hint: '扫描讲师屏幕上的二维码',
    render: function (el, args) {
      el.innerHTML = '<h1>扫码签到</h1>' +
        '<div id="ck-done" class="ok-big" hidden>✔ 已签到</div>' +
        '<div id="ck-cam" class="card"></div>' +
        '<button id="ck-scan" class="primary">打开相机扫码</button>' +
        '<form id="ck-form" class="card"><label>或输入讲师屏幕上的 6 位数字<input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="off"></label>' +
        '<input type="hidden" name="session_id" value="' + esc(args[0] || '') + '">' +
        '<button class="primary">签到</button></form>' +
        '<p id="ck-msg" role="status"></p><p id="ck-pending" class="muted small"></p>' +
        '<p><a href="#/my-training">我的培训</a> · <a href="#/enrol">报名课程</a></p>';
      var current = null;
      el.querySelector('#ck-scan').onclick = function () {
        if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { note('此手机浏览器不能打开相机，请输入 6 位数字'); return; }
        if (current) current.cancel();
        current = scan(el.querySelector('#ck-cam'));
        current.done.then(function (txt) { el.querySelector('#ck-cam').innerHTML = ''; return submit(txt); })
          .catch(function () { note('无法打开相机，请允许使用相机，或输入 6 位数字'); });
      };
      el.querySelector('#ck-form').onsubmit = function (e) {
        e.preventDefault();
        var v = NX.form(e.target);
        if (!/^\d{6}$/.test(v.code || '')) { note('请输入 6 位数字'); return; }
        submit(v.code, v.session_id);
      };
      if (args[1]) submit(args[1], args[0]);
      flush();
      window.addEventListener('hashchange', function h() { if (current) current.cancel(); window.removeEventListener('hashchange', h); });
    }
  });

  /* ---------- newcomers: scan the trainer's QR, or type its 6 digits ---------- */
  function joinForm(box, info) {
    var here = info.villages.filter(function (v) { return v.here; }), other = info.villages.filter(function (v) { return !v.here; });
    box.innerHTML = '<h2>新学员登记</h2><p>' + esc(info.course_title) + ' · ' + esc(NX.time(info.starts_at)) + ' · ' + esc(info.location || '') + '</p>' +
      '<form id="jn-form"><label>姓名<input name="name" required maxlength="30"></label><label>身份证号<input name="id_number" required maxlength="18" autocomplete="off"></label>' +
      '<label>手机号（登录用）<input name="phone" required inputmode="numeric" maxlength="11"></label>' +
      '<label>设置登录密码（至少 8 位）<input name="password" type="password" required minlength="8"></label>' +
      '<label>所在村<input type="search" id="jn-vq" placeholder="输入村名查找" autocomplete="off"></label><select name="region_id" id="jn-v" required></select>' +
      groupBoxes([]) + '<button class="primary">登记并签到</button><p id="jn-msg" role="status"></p></form>';
    var sel = box.querySelector('#jn-v'), q = box.querySelector('#jn-vq');
    function draw() {
      var t = q.value.trim(), list = t ? here.concat(other) : here;
      if (!list.length) list = other;
      sel.innerHTML = list.filter(function (v) { return !t || v.name.indexOf(t) >= 0 || v.township.indexOf(t) >= 0; }).slice(0, 200).map(function (v) {
        return '<option value="' + esc(v.id) + '">' + esc(v.name) + (v.here ? '' : '（' + esc(v.township) + '）') + '</option>';
      }).join('') || '<option value="">没有找到这个村</option>';
    }
    q.addEventListener('input', draw);
    draw();
    box.querySelector('#jn-form').onsubmit = function (e) {
      e.preventDefault();
      var body = NX.form(e.target), m = box.querySelector('#jn-msg'), btn = e.target.querySelector('button');
      body.ticket = info.ticket; body.client_id = cid();
      btn.disabled = true; say(m, 'muted', '正在登记…');
      position().then(function (pos) {
        if (pos) { body.lat = pos.lat; body.lng = pos.lng; body.accuracy = pos.accuracy; }
        return NX.api('POST', '/join/register', body);
      }).then(function (r) {
        var s = window.localStorage;
        s.setItem('nx.access', r.session.access_token); s.setItem('nx.refresh', r.session.refresh_token); s.setItem('nx.user', JSON.stringify(r.session.user));
        box.innerHTML = r.checkin ? '<div class="ok-big">✔ 已登记并签到</div>' : '<p class="error">已登记，但签到未成功：' + esc(r.checkin_error && r.checkin_error.message) + '</p>';
        setTimeout(function () { location.hash = '#/my-training'; location.reload(); }, 1500);
      }).catch(function (x) { say(m, 'error', NX.errText(x)); btn.disabled = false; });
    };
  }
  document.addEventListener('DOMContentLoaded', function () {
    var login = document.getElementById('login');
    if (!login) return;
    var box = document.createElement('div');
    box.className = 'card';
    box.innerHTML = '<p><b>第一次参加培训？</b></p><button type="button" id="jn-scan">扫讲师屏幕上的二维码登记</button>' +
      '<form id="jn-digits"><label>没有相机？输入讲师屏幕上的 6 位数字<input name="code" inputmode="numeric" maxlength="6" pattern="[0-9]{6}" autocomplete="off"></label><button>下一步</button></form>' +
      '<div id="jn-cam"></div><p id="jn-note" class="error" role="status"></p>';
    login.appendChild(box);
    var jnote = function (t) { box.querySelector('#jn-note').textContent = t; };
    var open = function (code) {
      jnote('');
      return NX.api('GET', '/join/' + encodeURIComponent(code)).then(function (info) { joinForm(box, info); })
        .catch(function (x) { jnote(msgOnly(x)); });
    };
    box.querySelector('#jn-scan').onclick = function () {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { jnote('此手机浏览器不能打开相机，请输入讲师屏幕上的 6 位数字'); return; }
      scan(box.querySelector('#jn-cam')).done.then(function (code) { box.querySelector('#jn-cam').innerHTML = ''; return open(code); })
        .catch(function () { jnote('无法打开相机，请允许使用相机，或输入讲师屏幕上的 6 位数字'); });
    };
    box.querySelector('#jn-digits').onsubmit = function (e) {
      e.preventDefault();
      var v = (NX.form(e.target).code || '').trim();
      if (!/^\d{6}$/.test(v)) { jnote('请输入 6 位数字'); return; }
      open(v);
    };
  });

  NX.view('my-training', {
    title: '我的培训', roles: ['trainee'], hint: '培训安排与出勤',
    render: function (el) {
      return NX.get('/my/schedule').then(function (r) {
        var st = { present: '<span class="tag good">已签到</span>', late: '<span class="tag warn">迟到</span>', excused: '<span class="tag">请假</span>', absent: '<span class="tag bad">未签到</span>' };
        el.innerHTML = '<h1>我的培训</h1>' + (r.items.length ? r.items.map(function (x) {
          return '<div class="card"><b>' + esc(x.course_title) + '</b><br>' + esc(NX.time(x.starts_at)) + ' · ' + esc(x.location || '') +
            '<br>' + (x.cancelled ? '<span class="tag bad">已取消</span>' : (st[x.attendance] || '')) + '</div>';
        }).join('') : '<p class="muted">还没有报名的课程。</p>') + '<p><a href="#/enrol">报名课程</a> · <a href="#/checkin">去签到</a></p>';
      });
    }
  });

  /* ---------- trainer: the session's check-in screen ---------- */
  NX.view('session-checkin', {
    title: '签到屏', roles: ['trainer', 'admin'], menu: false,
    render: function (el, args) {
      var sid = args[0];
      if (!sid) { el.innerHTML = '<p class="error">缺少班次编号</p>'; return; }
      el.innerHTML = '<h1 id="sc-title">签到</h1>' +
        '<div class="card" id="sc-qr-box" style="text-align:center"><img id="sc-qr" class="qr" alt="签到二维码"><div class="code" id="sc-digits"></div>' +
        '<p class="muted small">学员用手机扫码，或输入上面的 6 位数字（未报名的学员也可以）。二维码每 30 秒更换。</p>' +
        '<button id="sc-full">全屏显示</button></div>' +
        '<h2>点名 <small class="muted" id="sc-count"></small></h2>' +
        '<div class="card"><form id="sc-find" class="row"><input name="q" type="search" placeholder="姓名、手机号或身份证后 4 位" autocomplete="off"><button>查找学员</button></form>' +
        '<div id="sc-found"></div><details id="sc-newbox"><summary>名单里没有？现场登记新学员</summary><form id="sc-new">' +
        '<label>姓名<input name="name" required maxlength="30"></label><label>身份证号<input name="id_number" required maxlength="18" autocomplete="off"></label>' +
        '<label>手机号（没有可不填）<input name="phone" inputmode="numeric" maxlength="11"></label><div id="sc-village"></div>' + groupBoxes([]) +
        '<button class="primary">登记并记为到场</button></form></details></div>' +
        '<form id="sc-roll"><div id="sc-roster"></div><button class="primary">记录勾选的学员到场</button></form><p id="sc-msg" role="status"></p>' +
        '<h2>纸质签到表照片</h2><form id="sc-photo" class="card"><input type="file" name="file" accept="image/*" capture="environment"><progress value="0" max="1" hidden></progress><button>上传照片</button></form><div id="sc-photos" class="grid"></div>' +
        '<div id="sc-sheet"></div>' +
        '<p class="muted small">班次编号：' + esc(sid) + '</p>';
      var msg = el.querySelector('#sc-msg');
      var township = '';
      NX.get('/sessions/' + sid).then(function (x) {
        township = x.township_id;
        el.querySelector('#sc-title').textContent = '签到 · ' + (x.course_title || '') + ' · ' + NX.time(x.starts_at);
        return regions().then(function (all) { villagePicker(el.querySelector('#sc-village'), all, township, '', false); });
      }).catch(function () {});
      var img = el.querySelector('#sc-qr'), timer = null, lastURL = null;
      function refresh() {
        if (!document.body.contains(img)) { clearTimeout(timer); return; }
        NX.get('/sessions/' + sid + '/checkin-code').then(function (c) {
          el.querySelector('#sc-digits').textContent = c.digits;
          return fetch(c.qr_png, { headers: { Authorization: 'Bearer ' + NX.token() } }).then(function (r) { return r.blob(); }).then(function (b) {
            if (lastURL) URL.revokeObjectURL(lastURL);
            lastURL = URL.createObjectURL(b); img.src = lastURL;
            var wait = Math.max(1000, new Date(c.expires_at) - Date.now() + 300);
            timer = setTimeout(refresh, wait);
          });
        }).catch(function (e) {
          el.querySelector('#sc-digits').textContent = '';
          say(msg, 'error', NX.errText(e));
          timer = setTimeout(refresh, 10000);
        });
      }
      refresh();
      el.querySelector('#sc-full').onclick = function () { var b = el.querySelector('#sc-qr-box'); if (b.requestFullscreen) b.requestFullscreen(); };
      function roster() {
        return NX.get('/sessions/' + sid + '/attendance').then(function (r) {
          el.querySelector('#sc-count').textContent = '已到 ' + r.present + (r.capacity ? ' / ' + r.capacity : '') + ' 人';
          el.querySelector('#sc-roster').innerHTML = r.roster.length ? '<table class="rows"><thead><tr><th></th><th>姓名</th><th>身份证号</th><th>状态</th><th>标记</th></tr></thead><tbody>' + r.roster.map(function (x) {
            var here = x.status === 'present' || x.status === 'late';
            return '<tr><td data-label="到场"><input type="checkbox" name="t" aria-label="到场" value="' + esc(x.trainee_id) + '"' + (here ? ' checked disabled' : '') + '></td>' +
              '<td data-label="姓名">' + esc(x.name) + (x.walk_in ? ' <span class="tag">现场</span>' : '') + '</td>' +
              '<td data-label="身份证号">' + esc(x.id_number) + '</td>' +
              '<td data-label="状态"><span class="tag' + (here ? ' good' : '') + '">' + esc(STATUS[x.status] || '未到') + '</span>' + (x.method ? ' <span class="small muted">' + esc(METHOD[x.method] || '') + '</span>' : '') + '</td>' +
              '<td data-label="标记"><button type="button" data-m="late" data-t="' + esc(x.trainee_id) + '">迟到</button> <button type="button" data-m="excused" data-t="' + esc(x.trainee_id) + '">请假</button></td></tr>';
          }).join('') + '</tbody></table>' : '<p class="muted">还没有报名的学员。用上面的查找把到场的学员加进来。</p>';
        });
      }
      roster();
      function mark(ids, done) {
        return NX.post('/sessions/' + sid + '/rollcall', { trainee_ids: ids }).then(function (r) {
          say(msg, 'ok', done || ('已记录 ' + r.recorded + ' 人到场')); return roster();
        }).catch(function (x) { say(msg, 'error', NX.errText(x)); });
      }
      el.querySelector('#sc-roster').onclick = function (e) {
        var b = e.target.closest('button[data-m]'); if (!b) return;
        NX.post('/sessions/' + sid + '/marks', { trainee_id: b.dataset.t, status: b.dataset.m }).then(roster)
          .catch(function (x) { say(msg, 'error', NX.errText(x)); });
      };
      el.querySelector('#sc-roll').onsubmit = function (e) {
        e.preventDefault();
        var ids = Array.prototype.filter.call(e.target.querySelectorAll('input[name=t]'), function (i) { return i.checked && !i.disabled; }).map(function (i) { return i.value; });
        if (!ids.length) { say(msg, 'error', '请先勾选到场的学员'); return; }
        mark(ids);
      };
      var found = el.querySelector('#sc-found');
      el.querySelector('#sc-find').onsubmit = function (e) {
        e.preventDefault();
        var q = (NX.form(e.target).q || '').trim();
        if (!q) { found.innerHTML = ''; return; }
        found.innerHTML = '<p class="muted small">正在查找…</p>';
        NX.get('/trainees?limit=20&q=' + encodeURIComponent(q)).then(function (r) {
          found.innerHTML = r.items.length ? '<table class="rows"><tbody>' + r.items.map(function (t) {
            return '<tr><td data-label="姓名">' + esc(t.name) + '</td><td data-label="身份证号">' + esc(t.id_number) + '</td><td data-label="手机">' + esc(t.phone || '—') + '</td>' +
              '<td data-label=""><button type="button" class="primary" data-add="' + esc(t.id) + '" data-name="' + esc(t.name) + '">记为到场</button></td></tr>';
          }).join('') + '</tbody></table>' : '<p class="muted small">没有找到。可以在下面现场登记。</p>';
        }).catch(function (x) { found.innerHTML = '<p class="error small">' + esc(NX.errText(x)) + '</p>'; });
      };
      found.onclick = function (e) {
        var b = e.target.closest('button[data-add]'); if (!b) return;
        b.disabled = true;
        mark([b.dataset.add], b.dataset.name + ' 已记为到场').then(function () { b.textContent = '已到场'; });
      };
      el.querySelector('#sc-new').onsubmit = function (e) {
        e.preventDefault();
        var f = e.target, body = NX.form(f), btn = f.querySelector('button');
        btn.disabled = true;
        NX.post('/trainees', body).then(function (t) {
          f.reset();
          el.querySelector('#sc-newbox').open = false;
          return mark([t.id], '已登记 ' + t.name + ' 并记为到场' + (t.initial_password ? '；登录密码 ' + t.initial_password + '（请告诉学员，只显示一次）' : ''));
        }).catch(function (x) { say(msg, 'error', NX.errText(x)); }).then(function () { btn.disabled = false; });
      };
      var urls = [];
      function photos() {
        return NX.get('/sessions/' + sid + '/signin-photos').then(function (r) {
          urls.forEach(function (u) { URL.revokeObjectURL(u); }); urls = [];
          var box = el.querySelector('#sc-photos');
          box.innerHTML = r.items.length ? r.items.map(function (p) {
            return '<a class="kpi" data-photo="' + esc(p.blob_id) + '" target="_blank" rel="noopener"><img alt="签到表照片" style="width:100%;height:120px;object-fit:cover;background:#eee" loading="lazy">' +
              '<span class="small muted">' + esc(NX.time(p.at)) + '</span></a>';
          }).join('') : '<p class="muted small">还没有上传签到表照片。</p>';
          Array.prototype.forEach.call(box.querySelectorAll('[data-photo]'), function (a) {
            fetch('/api/v1/sessions/' + sid + '/signin-photos/' + a.dataset.photo, { headers: { Authorization: 'Bearer ' + NX.token() } })
              .then(function (x) { return x.blob(); }).then(function (b) { var u = URL.createObjectURL(b); urls.push(u); a.href = u; a.querySelector('img').src = u; }).catch(function () {});
          });
        });
      }
      photos();
      if (NX.sheetImport) NX.sheetImport(el.querySelector('#sc-sheet'), sid, roster); // sheetimport.js
      el.querySelector('#sc-photo').onsubmit = function (e) {
        e.preventDefault();
        var f = e.target, bar = f.querySelector('progress');
        if (!f.file.files.length) { say(msg, 'error', '请先选择照片'); return; }
        var fd = new FormData(); fd.append('file', f.file.files[0]);
        bar.hidden = false;
        NX.upload('/sessions/' + sid + '/signin-photos', fd, function (p) { bar.value = p; }).then(function () { f.reset(); say(msg, 'ok', '照片已上传'); return photos(); })
          .catch(function (x) { say(msg, 'error', NX.errText(x)); }).then(function () { bar.hidden = true; });
      };
    }
  });

  /* ---------- staff: the trainee roster ---------- */
  NX.view('trainees', {
    title: '学员', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '查找、登记、导入、报名',
    render: function (el) {
      var staff = NX.user.role !== 'auditor';
      el.innerHTML = '<h1>学员</h1><form id="tr-q" class="row"><input name="q" type="search" placeholder="姓名、手机号或身份证后 4 位" autocomplete="off"><button>查找</button></form>' +
        '<div id="tr-list"><p class="muted small">输入姓名、手机号或身份证号后 4 位查找学员。</p></div>' +
        (staff ? '<div class="card" id="tr-enrol" hidden><b>为勾选的学员报名</b><div class="row"><select id="tr-course"></select><button type="button" id="tr-enrol-go" class="primary">报名</button></div><div id="tr-enrol-rep"></div></div>' +
          '<details class="card"><summary>登记学员</summary><form id="tr-new">' +
          '<label>姓名<input name="name" required maxlength="30"></label><label>身份证号<input name="id_number" required maxlength="18" autocomplete="off"></label>' +
          '<label>手机号（没有可不填；填了会开通登录账号）<input name="phone" inputmode="numeric" maxlength="11"></label><div id="tr-v"></div>' + groupBoxes([]) +
          '<button class="primary">登记</button><p id="tr-msg" role="status"></p></form></details>' +
          '<details class="card" id="tr-impbox"><summary>导入名册（XLSX/CSV）</summary><p class="muted small">表头：姓名、身份证号、手机号、乡镇、村（可选 性别、人群类别），表头上面的标题行不影响。身份证号一列请设为“文本”格式。先预览，确认无误后再导入；重复导入不会重复登记。</p>' +
          '<form id="tr-imp"><label>名册文件<input type="file" name="file" accept=".xlsx,.csv,.txt" required></label><progress value="0" max="1" hidden></progress><button class="primary">预览</button></form><div id="tr-rep" role="status"></div></details>' : '');
      var listBox = el.querySelector('#tr-list');
      function list(q) {
        listBox.innerHTML = '<p class="muted small">正在查找…</p>';
        return NX.get('/trainees?limit=50&q=' + encodeURIComponent(q)).then(function (r) {
          if (!r.items.length) { listBox.innerHTML = '<p class="muted">没有找到。</p>'; return; }
          listBox.innerHTML = '<table class="rows"><thead><tr>' + (staff ? '<th></th>' : '') + '<th>姓名</th><th>身份证号</th><th>手机号</th><th>人群</th><th></th></tr></thead><tbody>' + r.items.map(function (t) {
            return '<tr>' + (staff ? '<td data-label="选择"><input type="checkbox" name="pick" aria-label="选择" value="' + esc(t.id) + '"></td>' : '') +
              '<td data-label="姓名">' + esc(t.name) + '</td><td data-label="身份证号">' + esc(t.id_number) + '</td><td data-label="手机号">' + esc(t.phone || '—') + '</td>' +
              '<td data-label="人群">' + esc(groupsText(t.groups)) + '</td><td data-label=""><a href="#/trainee/' + esc(t.id) + '">查看/修改</a></td></tr>';
          }).join('') + '</tbody></table>';
          var box = el.querySelector('#tr-enrol');
          if (box) box.hidden = false;
        }).catch(function (x) { listBox.innerHTML = '<p class="error">' + esc(NX.errText(x)) + '</p>'; });
      }
      el.querySelector('#tr-q').onsubmit = function (e) { e.preventDefault(); var q = (NX.form(e.target).q || '').trim(); if (q) list(q); };
      if (!staff) return;
      NX.get('/courses').then(function (cs) {
        el.querySelector('#tr-course').innerHTML = '<option value="">选择课程</option>' + (cs || []).filter(function (c) { return c.published; }).map(function (c) { return '<option value="' + esc(c.id) + '">' + esc(c.title) + '</option>'; }).join('');
      }).catch(function () {});
      el.querySelector('#tr-enrol-go').onclick = function () {
        var rep = el.querySelector('#tr-enrol-rep'), course = el.querySelector('#tr-course').value;
        var ids = Array.prototype.filter.call(listBox.querySelectorAll('input[name=pick]'), function (i) { return i.checked; }).map(function (i) { return i.value; });
        if (!course) { rep.innerHTML = '<p class="error small">请先选择课程</p>'; return; }
        if (!ids.length) { rep.innerHTML = '<p class="error small">请先在上面勾选学员</p>'; return; }
        NX.post('/courses/' + course + '/enrollments', { trainee_ids: ids }).then(function (r) {
          rep.innerHTML = '<p class="ok small">报名成功 ' + r.enrolled + ' 人</p><table class="rows"><thead><tr><th>姓名</th><th>结果</th><th>原因</th></tr></thead><tbody>' + r.rows.map(function (x) {
            return '<tr><td data-label="姓名">' + esc(x.name || x.trainee_id) + '</td><td data-label="结果"><span class="tag' + (x.status === 'enrolled' ? ' good' : x.status === 'refused' ? ' bad' : '') + '">' + esc(x.label) + '</span></td><td data-label="原因">' + esc(x.reason || '') + '</td></tr>';
          }).join('') + '</tbody></table>';
        }).catch(function (x) { rep.innerHTML = '<p class="error small">' + esc(NX.errText(x)) + '</p>'; });
      };
      regions().then(function (all) { villagePicker(el.querySelector('#tr-v'), all, NX.user.township_id || '', '', NX.user.role === 'officer'); }).catch(function () {});
      el.querySelector('#tr-new').onsubmit = function (e) {
        e.preventDefault();
        var m = el.querySelector('#tr-msg');
        NX.post('/trainees', NX.form(e.target)).then(function (t) {
          say(m, 'ok', '已登记：' + t.name + ' ' + t.id_number + (t.initial_password ? '；初始密码 ' + t.initial_password + '（请告知学员，仅显示一次）' : ''));
          e.target.reset(); list(t.name);
        }).catch(function (x) { say(m, 'error', NX.errText(x)); });
      };
      NX.importFlow(el.querySelector('#tr-imp'), el.querySelector('#tr-rep'), {
        path: '/trainees/import', refusedName: '花名册未通过的行.xlsx', what: '学员',
        cols: [['姓名', function (r) { return r.name; }], ['身份证号', function (r) { return r.id_number; }, true], ['村', function (r) { return (r.township ? r.township + ' ' : '') + r.village; }]],
        done: function () { list(''); }
      });
    }
  });

  /* ---------- staff: one trainee's record, corrections, enrolments, merge ---------- */
  NX.view('trainee', {
    title: '学员档案', roles: ['admin', 'officer', 'trainer', 'auditor'], menu: false,
    render: function (el, args) {
      var id = args[0], role = NX.user.role, staff = role !== 'auditor';
      return Promise.all([NX.get('/trainees/' + id), NX.get('/trainees/' + id + '/enrollments'), NX.get('/trainees/' + id + '/attendance'), regions()]).then(function (r) {
        var t = r[0], es = r[1].items, att = r[2].items, all = r[3], names = {};
        all.forEach(function (x) { names[x.id] = x.name; });
        var merged = t.status === 'merged';
        el.innerHTML = '<h1>' + esc(t.name) + (merged ? ' <span class="tag bad">已合并</span>' : '') + '</h1>' +
          '<div class="card"><p>身份证号 ' + esc(t.id_number) + ' · ' + (t.gender === 'female' ? '女' : '男') + ' · ' + esc(t.birth_date) + '</p>' +
          '<p>手机 ' + esc(t.phone || '—') + ' · ' + esc(names[t.township_id] || '') + ' ' + esc(names[t.region_id] || '') + '</p><p>人群：' + esc(groupsText(t.groups)) + '</p>' +
          (merged ? '<p>已合并到 <a href="#/trainee/' + esc(t.merged_into) + '">保留的档案</a></p>' : '') + '</div>' +
          (staff && !merged ? '<details class="card"><summary>修改档案</summary><form id="te-edit"><label>姓名<input name="name" required maxlength="30" value="' + esc(t.name) + '"></label>' +
            '<label>手机号（没有可不填）<input name="phone" inputmode="numeric" maxlength="11" value="' + esc(t.phone || '') + '"></label><div id="te-v"></div>' + groupBoxes(t.groups) +
            '<button class="primary">保存</button></form></details>' : '') +
          (role === 'admin' && !merged ? '<details class="card"><summary>更正身份证号（管理员）</summary><form id="te-id"><label>正确的身份证号<input name="id_number" required maxlength="18" autocomplete="off"></label><button>更正</button></form></details>' : '') +
          ((role === 'admin' || role === 'officer') && !merged ? '<details class="card"><summary>合并重复登记的档案</summary><p class="small muted">同一个人登记了两次时，把另一份档案并入这一份：签到、报名、证书随之转到这份档案，另一份标记为已合并。</p>' +
            '<form id="te-mq"><label>查找另一份档案（姓名、手机号或身份证后 4 位）<input name="q" type="search" autocomplete="off"></label><button>查找</button></form><div id="te-mfound"></div></details>' : '') +
          '<p id="te-msg" role="status"></p>' +
          '<h2>报名的课程</h2><div id="te-es"></div><h2>签到记录</h2>' +
          (att.length ? '<table class="rows"><thead><tr><th>时间</th><th>状态</th><th>方式</th></tr></thead><tbody>' + att.map(function (a) {
            return '<tr><td data-label="时间">' + esc(NX.time(a.at)) + '</td><td data-label="状态">' + esc(STATUS[a.status] || '') + '</td><td data-label="方式">' + esc(METHOD[a.method] || '') + '</td></tr>';
          }).join('') + '</tbody></table>' : '<p class="muted">还没有签到记录。</p>');
        var msg = el.querySelector('#te-msg');
        var done = function (text) { return function () { say(msg, 'ok', text); setTimeout(NX.route, 800); }; };
        var fail = function (x) { say(msg, 'error', NX.errText(x)); };
        Promise.all(es.map(function (e) { return NX.get('/courses/' + e.course_id).catch(function () { return { id: e.course_id, title: '（课程不可见）' }; }); })).then(function (cs) {
          el.querySelector('#te-es').innerHTML = es.length ? '<table class="rows"><thead><tr><th>课程</th><th>报名时间</th><th></th></tr></thead><tbody>' + es.map(function (e, i) {
            return '<tr><td data-label="课程">' + esc(cs[i].title) + (e.walk_in ? ' <span class="tag">现场</span>' : '') + '</td><td data-label="报名时间">' + esc(NX.date(e.at)) + '</td>' +
              '<td data-label="">' + (staff && !merged && !e.walk_in ? '<button type="button" data-un="' + esc(e.course_id) + '">取消报名</button>' : '') + '</td></tr>';
          }).join('') + '</tbody></table>' : '<p class="muted">还没有报名。</p>';
        });
        el.querySelector('#te-es').onclick = function (e) {
          var b = e.target.closest('button[data-un]'); if (!b) return;
          if (!window.confirm('确定取消该学员的报名？')) return;
          NX.api('DELETE', '/courses/' + b.dataset.un + '/enrollments/' + id).then(done('已取消报名')).catch(fail);
        };
        var edit = el.querySelector('#te-edit');
        if (edit) {
          villagePicker(el.querySelector('#te-v'), all, t.township_id, t.region_id, role === 'officer');
          edit.onsubmit = function (e) {
            e.preventDefault();
            var body = NX.form(edit);
            body.phone = body.phone || ''; body.groups = body.groups || [];
            NX.api('PATCH', '/trainees/' + id, body).then(done('已保存')).catch(fail);
          };
        }
        var idf = el.querySelector('#te-id');
        if (idf) idf.onsubmit = function (e) { e.preventDefault(); NX.api('PUT', '/trainees/' + id + '/id-number', NX.form(idf)).then(done('身份证号已更正')).catch(fail); };
        var mq = el.querySelector('#te-mq');
        if (mq) {
          var mf = el.querySelector('#te-mfound');
          mq.onsubmit = function (e) {
            e.preventDefault();
            NX.get('/trainees?limit=20&q=' + encodeURIComponent(NX.form(mq).q || '')).then(function (r) {
              var xs = r.items.filter(function (x) { return x.id !== id; });
              mf.innerHTML = xs.length ? '<table class="rows"><tbody>' + xs.map(function (x) {
                return '<tr><td data-label="姓名">' + esc(x.name) + '</td><td data-label="身份证号">' + esc(x.id_number) + '</td><td data-label="手机">' + esc(x.phone || '—') + '</td>' +
                  '<td data-label=""><button type="button" data-drop="' + esc(x.id) + '">并入这份档案</button></td></tr>';
              }).join('') + '</tbody></table>' : '<p class="muted small">没有找到其他档案。</p>';
            }).catch(fail);
          };
          mf.onclick = function (e) {
            var b = e.target.closest('button[data-drop]'); if (!b) return;
            if (!window.confirm('把那份档案并入“' + t.name + '”？那份档案的签到和报名会转到这里，此操作会记入审计日志。')) return;
            NX.post('/trainees/merge', { keep: id, drop: b.dataset.drop }).then(function (r) {
              say(msg, 'ok', '已合并：转入签到 ' + r.moved_attendance + ' 条（同一班次重复的 ' + r.merged_attendance + ' 条只算一次），报名 ' + r.moved_enrollments + ' 门');
              setTimeout(NX.route, 1500);
            }).catch(fail);
          };
        }
      });
    }
  });

  NX.view('progress', {
    title: '培训进度', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '人次对照 10000 目标',
    render: function (el) {
      return NX.get('/progress').then(function (p) {
        var pct = Math.min(100, Math.round(p.person_times * 100 / p.target));
        el.innerHTML = '<h1>培训进度</h1><div class="grid"><div class="kpi"><b>' + p.person_times + '</b>培训人次 / 目标 ' + p.target + '</div>' +
          '<div class="kpi"><b>' + p.trainees + '</b>参训人数</div><div class="kpi"><b>' + p.registered + '</b>登记学员</div></div>' +
          '<progress value="' + pct + '" max="100"></progress><p class="muted">' + pct + '%</p>' +
          '<h2>按人群（人次）</h2><table class="rows"><tbody>' + GROUP_KEYS.map(function (g) { return '<tr><td data-label="人群">' + esc(GROUPS[g]) + '</td><td data-label="人次">' + (p.by_group[g] || 0) + '</td></tr>'; }).join('') + '</tbody></table>' +
          '<h2>按月（人次）</h2><table class="rows"><tbody>' + Object.keys(p.by_month).sort().map(function (m) { return '<tr><td data-label="月份">' + esc(m) + '</td><td data-label="人次">' + p.by_month[m] + '</td></tr>'; }).join('') + '</tbody></table>';
      });
    }
  });
})();
