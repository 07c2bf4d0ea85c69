/* 签到：学员扫码签到（可离线）、讲师签到屏（轮换二维码 + 6 位数字码）、点名、签到表照片、学员名册。 */
(function () {
  'use strict';
  var DB = 'nx-checkin', STORE = 'pending';

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

  /* Uploads what was saved offline; returns the number still pending. */
  var flushing = null;
  function flush() {
    if (flushing) return flushing;
    flushing = queue.all().then(function (list) {
      if (!list.length || !navigator.onLine || !NX.token()) return list.length;
      return NX.post('/checkins/batch', { checkins: list.slice(0, 100) }).then(function (r) {
        return Promise.all(r.results.map(function (x) {
          // An answer (accepted or refused) is final; a server fault stays queued.
          if (x.status || (x.error && x.error.code !== 'internal' && x.error.code !== 'rate_limited')) {
            if (x.error) note('离线签到未被接受：' + x.error.message);
            return queue.del(x.client_id);
          }
        }));
      }).then(function () { return queue.all(); }).then(function (l) { return l.length; });
    }).catch(function () { return queue.all().then(function (l) { return l.length; }); })
      .then(function (n) { flushing = null; showPending(n); return n; });
    return flushing;
  }
  function showPending(n) {
    var el = document.getElementById('ck-pending');
    if (el) el.textContent = n ? ('有 ' + n + ' 条签到待上传，联网后自动上传') : '';
  }
  function note(msg) { var el = document.getElementById('ck-msg'); if (el) { el.className = 'error'; el.textContent = msg; } }
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
    msg.className = 'muted'; msg.textContent = '正在签到…';
    var scannedAt = new Date().toISOString();
    return position().then(function (pos) {
      var body = { code: code, client_id: cid(), scanned_at: scannedAt };
      if (sessionID) body.session_id = sessionID;
      if (pos) { body.lat = pos.lat; body.lng = pos.lng; body.accuracy = pos.accuracy; }
      var save = function () {
        return queue.add(body).then(function () {
          msg.className = 'ok'; msg.textContent = '当前没有网络，签到已保存，联网后自动上传'; return flush();
        });
      };
      if (!navigator.onLine) return save();
      return NX.post('/checkins', body).then(function () {
        document.getElementById('ck-done').hidden = false;
        msg.className = 'ok'; msg.textContent = '';
      }).catch(function (e) {
        if (!e.status) return save();
        msg.className = 'error'; msg.textContent = NX.errText(e);
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
        '<form id="ck-form" class="card"><label>或输入屏幕下方的 6 位数字<input name="code" inputmode="numeric" pattern="[0-9]{6}" maxlength="6" autocomplete="off"></label>' +
        '<label>班次编号（已报名的课程可不填）<input name="session_id" value="' + NX.esc(args[0] || '') + '" autocomplete="off"></label>' +
        '<button class="primary">签到</button></form>' +
        '<p id="ck-msg" role="status"></p><p id="ck-pending" class="muted small"></p>' +
        '<p><a href="#/my-training">我的培训</a></p>';
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

  /* Newcomers without an account: scan the trainer's QR from the login
     screen, fill in the form, and are registered, checked in and logged in. */
  function joinForm(box, info) {
    var here = info.villages.filter(function (v) { return v.here; }), other = info.villages.filter(function (v) { return !v.here; });
    var opt = function (v) { return '<option value="' + NX.esc(v.id) + '">' + NX.esc(v.township + ' ' + v.name) + '</option>'; };
    box.innerHTML = '<h2>新学员登记</h2><p>' + NX.esc(info.course_title) + ' · ' + NX.esc(NX.time(info.starts_at)) + ' · ' + NX.esc(info.location || '') + '</p>' +
      '<form id="jn-form"><label>姓名<input name="name" required></label><label>身份证号<input name="id_number" required maxlength="18"></label>' +
      '<label>手机号（登录用）<input name="phone" required inputmode="numeric" maxlength="11"></label>' +
      '<label>设置登录密码（至少 8 位）<input name="password" type="password" required minlength="8"></label>' +
      '<label>所在村<select name="region_id">' + here.map(opt).join('') + other.map(opt).join('') + '</select></label>' +
      '<fieldset><legend>人群类别（可多选）</legend>' + [['poverty', '建档立卡贫困户'], ['youth', '青年'], ['returnee_graduate', '返乡大学生'], ['returnee_worker', '返乡农民工'], ['veteran', '退役军人'], ['disabled', '残疾人']].map(function (g) {
        return '<label style="display:inline-block;margin-right:.8rem"><input type="checkbox" name="groups" data-list="1" value="' + g[0] + '">' + g[1] + '</label>';
      }).join('') + '</fieldset><button class="primary">登记并签到</button><p id="jn-msg" role="status"></p></form>';
    box.querySelector('#jn-form').onsubmit = function (e) {
      e.preventDefault();
      var body = NX.form(e.target), m = box.querySelector('#jn-msg'), btn = e.target.querySelector('button');
      body.ticket = info.ticket; body.client_id = cid();
      btn.disabled = true; m.className = 'muted'; m.textContent = '正在登记…';
      position().then(function (pos) {
        if (pos) { body.lat = pos.lat; body.lng = pos.lng; body.accuracy = pos.accuracy; }
        return NX.api('POST', '/join/register', body);
      }).then(function (r) {
        var s = window.localStorage;
        s.setItem('nx.access', r.session.access_token); s.setItem('nx.refresh', r.session.refresh_token); s.setItem('nx.user', JSON.stringify(r.session.user));
        box.innerHTML = r.checkin ? '<div class="ok-big">✔ 已登记并签到</div>' : '<p class="error">已登记，但签到未成功：' + NX.esc(r.checkin_error && r.checkin_error.message) + '</p>';
        setTimeout(function () { location.hash = '#/my-training'; location.reload(); }, 1500);
      }).catch(function (x) { m.className = 'error'; m.textContent = NX.errText(x); btn.disabled = false; });
    };
  }
  document.addEventListener('DOMContentLoaded', function () {
    var login = document.getElementById('login');
    if (!login) return;
    var box = document.createElement('div');
    box.className = 'card';
    box.innerHTML = '<p>第一次参加培训？<button type="button" id="jn-scan">扫讲师屏幕上的二维码登记</button></p><div id="jn-cam"></div><p id="jn-note" class="error"></p>';
    login.appendChild(box);
    var jnote = function (t) { box.querySelector('#jn-note').textContent = t; };
    box.querySelector('#jn-scan').onclick = function () {
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { jnote('此手机浏览器不能打开相机，请讲师帮您登记'); return; }
      scan(box.querySelector('#jn-cam')).done.then(function (code) {
        box.querySelector('#jn-cam').innerHTML = '';
        return NX.api('GET', '/join/' + encodeURIComponent(code)).then(function (info) { joinForm(box, info); });
      }).catch(function (x) { jnote(x && x.data ? NX.errText(x) : '无法打开相机，请允许使用相机'); });
    };
  });

  NX.view('my-training', {
    title: '我的培训', roles: ['trainee'], hint: '培训安排与出勤',
    render: function (el) {
      return NX.get('/my/schedule').then(function (r) {
        var st = { present: '<span class="tag good">已签到</span>', late: '<span class="tag warn">迟到</span>', excused: '<span class="tag">请假</span>', absent: '<span class="tag bad">未签到</span>' };
        el.innerHTML = '<h1>我的培训</h1>' + (r.items.length ? r.items.map(function (x) {
          return '<div class="card"><b>' + NX.esc(x.course_title) + '</b><br>' + NX.esc(NX.time(x.starts_at)) + ' · ' + NX.esc(x.location || '') +
            '<br>' + (x.cancelled ? '<span class="tag bad">已取消</span>' : (st[x.attendance] || '')) + '</div>';
        }).join('') : '<p class="muted">还没有报名的课程。</p>') + '<p><a href="#/checkin">去签到</a></p>';
      });
    }
  });

  /* Trainer: the session's check-in screen, roll call, marks, sign-in sheet photo. */
  NX.view('session-checkin', {
    title: '签到屏', roles: ['trainer', 'admin'], menu: false,
    render: function (el, args) {
      var sid = args[0];
      if (!sid) { el.innerHTML = '<p class="error">缺少班次编号</p>'; return; }
      el.innerHTML = '<h1 id="sc-title">签到</h1>' +
        '<div class="card" id="sc-qr-box" style="text-align:center"><img id="sc-qr" class="qr" alt="签到二维码"><div class="code" id="sc-digits"></div>' +
        '<p class="muted small">学员用手机扫码，或输入上面的 6 位数字。二维码每 30 秒更换。</p>' +
        '<button id="sc-full">全屏显示</button></div>' +
        '<p class="muted small" style="text-align:center">班次编号：' + NX.esc(sid) + '</p>' +
        '<h2>点名 <small class="muted" id="sc-count"></small></h2><form id="sc-roll"><div id="sc-roster" class="card"></div>' +
        '<button class="primary">记录勾选的学员到场</button></form><p id="sc-msg" role="status"></p>' +
        '<h2>纸质签到表照片</h2><form id="sc-photo" class="card"><input type="file" name="file" accept="image/*" capture="environment"><progress value="0" max="1" hidden></progress><button>上传照片</button></form><div id="sc-photos"></div>';
      NX.get('/sessions/' + sid).then(function (x) {
        return NX.get('/courses/' + x.course_id).then(function (c) {
          el.querySelector('#sc-title').textContent = '签到 · ' + c.title + ' · ' + NX.time(x.starts_at);
        });
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
          el.querySelector('#sc-msg').textContent = NX.errText(e);
          timer = setTimeout(refresh, 10000);
        });
      }
      refresh();
      el.querySelector('#sc-full').onclick = function () { var b = el.querySelector('#sc-qr-box'); if (b.requestFullscreen) b.requestFullscreen(); };
      var label = { present: '到场', late: '迟到', excused: '请假', absent: '未到' };
      function roster() {
        return NX.get('/sessions/' + sid + '/attendance').then(function (r) {
          el.querySelector('#sc-count').textContent = '已到 ' + r.present + (r.capacity ? ' / ' + r.capacity : '') + ' 人';
          el.querySelector('#sc-roster').innerHTML = r.roster.length ? r.roster.map(function (x) {
            var here = x.status === 'present' || x.status === 'late';
            return '<div class="row" style="padding:.3rem 0;border-bottom:1px solid #eee"><label style="margin:0"><input type="checkbox" name="t" value="' + NX.esc(x.trainee_id) + '"' + (here ? ' checked disabled' : '') + '>' +
              NX.esc(x.name) + ' <span class="muted small">' + NX.esc(x.id_number) + '</span></label>' +
              '<span class="tag' + (here ? ' good' : '') + '">' + label[x.status] + '</span>' +
              '<span><button type="button" data-m="late" data-t="' + NX.esc(x.trainee_id) + '">迟到</button> <button type="button" data-m="excused" data-t="' + NX.esc(x.trainee_id) + '">请假</button></span></div>';
          }).join('') : '<p class="muted">还没有报名的学员。</p>';
        });
      }
      roster();
      el.querySelector('#sc-roster').onclick = function (e) {
        var b = e.target.closest('button[data-m]'); if (!b) return;
        NX.post('/sessions/' + sid + '/marks', { trainee_id: b.dataset.t, status: b.dataset.m }).then(roster)
          .catch(function (x) { el.querySelector('#sc-msg').textContent = NX.errText(x); });
      };
      el.querySelector('#sc-roll').onsubmit = function (e) {
        e.preventDefault();
        var ids = Array.prototype.filter.call(e.target.querySelectorAll('input[name=t]'), function (i) { return i.checked && !i.disabled; }).map(function (i) { return i.value; });
        var m = el.querySelector('#sc-msg');
        if (!ids.length) { m.textContent = '请先勾选到场的学员'; return; }
        NX.post('/sessions/' + sid + '/rollcall', { trainee_ids: ids }).then(function (r) { m.className = 'ok'; m.textContent = '已记录 ' + r.recorded + ' 人'; return roster(); })
          .catch(function (x) { m.className = 'error'; m.textContent = NX.errText(x); });
      };
      function photos() {
        return NX.get('/sessions/' + sid + '/signin-photos').then(function (r) {
          el.querySelector('#sc-photos').innerHTML = r.items.map(function (p) { return '<div class="small">📷 ' + NX.esc(p.name) + ' · ' + NX.esc(NX.time(p.at)) + '</div>'; }).join('');
        });
      }
      photos();
      el.querySelector('#sc-photo').onsubmit = function (e) {
        e.preventDefault();
        var f = e.target, bar = f.querySelector('progress'), m = el.querySelector('#sc-msg');
        if (!f.file.files.length) { m.textContent = '请先选择照片'; return; }
        var fd = new FormData(); fd.append('file', f.file.files[0]);
        bar.hidden = false;
        NX.upload('/sessions/' + sid + '/signin-photos', fd, function (p) { bar.value = p; }).then(function () { f.reset(); m.className = 'ok'; m.textContent = '照片已上传'; return photos(); })
          .catch(function (x) { m.className = 'error'; m.textContent = NX.errText(x); }).then(function () { bar.hidden = true; });
      };
    }
  });

  /* Staff: trainee roster with registration and import. */
  NX.view('trainees', {
    title: '学员', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '学员登记与名册导入',
    render: function (el) {
      var staff = NX.user.role !== 'auditor';
      el.innerHTML = '<h1>学员</h1><form id="tr-q" class="row"><input name="q" placeholder="姓名或手机号"><button>查找</button></form>' +
        (staff ? '<details class="card"><summary>登记学员</summary><form id="tr-new">' +
          '<label>姓名<input name="name" required></label><label>身份证号<input name="id_number" required maxlength="18"></label>' +
          '<label>手机号<input name="phone" required inputmode="numeric" maxlength="11"></label><label>所在村<select name="region_id" id="tr-v"></select></label>' +
          '<fieldset><legend>人群类别</legend>' + [['poverty', '建档立卡贫困户'], ['woman', '妇女'], ['youth', '青年'], ['returnee_graduate', '返乡大学生'], ['returnee_worker', '返乡农民工'], ['veteran', '退役军人'], ['disabled', '残疾人']].map(function (g) {
            return '<label style="display:inline-block;margin-right:.8rem"><input type="checkbox" name="groups" data-list="1" value="' + g[0] + '">' + g[1] + '</label>';
          }).join('') + '</fieldset><button class="primary">登记</button><p id="tr-msg"></p></form></details>' +
          '<details class="card"><summary>导入名册（XLSX/CSV）</summary><p class="muted small">表头：姓名、身份证号、手机号、乡镇、村、性别、人群类别。重复导入不会重复登记。</p>' +
          '<form id="tr-imp"><input type="file" name="file" accept=".xlsx,.csv"><progress value="0" max="1" hidden></progress><button>导入</button></form><div id="tr-rep"></div></details>' : '') +
        '<div id="tr-list"></div>';
      function list(q) {
        return NX.get('/trainees' + (q ? '?q=' + encodeURIComponent(q) : '')).then(function (r) {
          el.querySelector('#tr-list').innerHTML = '<div class="scroll"><table><tr><th>姓名</th><th>身份证号</th><th>手机号</th><th>人群</th></tr>' + r.items.map(function (t) {
            return '<tr><td>' + NX.esc(t.name) + '</td><td>' + NX.esc(t.id_number) + '</td><td>' + NX.esc(t.phone) + '</td><td>' + NX.esc((t.groups || []).join('、')) + '</td></tr>';
          }).join('') + '</table></div>';
        });
      }
      el.querySelector('#tr-q').onsubmit = function (e) { e.preventDefault(); list(NX.form(e.target).q); };
      if (staff) {
        NX.get('/regions').then(function (rs) {
          var items = rs.items || rs, names = {};
          items.forEach(function (r) { names[r.id] = r.name; });
          el.querySelector('#tr-v').innerHTML = items.filter(function (r) { return r.level === 'village'; }).map(function (r) {
            return '<option value="' + NX.esc(r.id) + '">' + NX.esc((names[r.parent_id] || '') + ' ' + r.name) + '</option>';
          }).join('');
        }).catch(function () {});
        el.querySelector('#tr-new').onsubmit = function (e) {
          e.preventDefault();
          var m = el.querySelector('#tr-msg');
          NX.post('/trainees', NX.form(e.target)).then(function (t) {
            m.className = 'ok'; m.textContent = '已登记：' + t.name + ' ' + t.id_number + (t.initial_password ? '；初始密码 ' + t.initial_password + '（请告知学员，仅显示一次）' : '');
            e.target.reset(); list();
          }).catch(function (x) { m.className = 'error'; m.textContent = NX.errText(x); });
        };
        el.querySelector('#tr-imp').onsubmit = function (e) {
          e.preventDefault();
          var f = e.target, bar = f.querySelector('progress'), rep = el.querySelector('#tr-rep');
          if (!f.file.files.length) return;
          var fd = new FormData(); fd.append('file', f.file.files[0]); bar.hidden = false;
          NX.upload('/trainees/import', fd, function (p) { bar.value = p; }).then(function (r) {
            rep.innerHTML = '<p>共 ' + r.total + ' 行：新登记 ' + r.created + '，已存在 ' + r.kept + '，未导入 ' + r.refused.length + '</p>' +
              (r.refused.length ? '<table><tr><th>行</th><th>原因</th></tr>' + r.refused.map(function (x) { return '<tr><td>' + x.row + '</td><td>' + NX.esc(x.reason) + '</td></tr>'; }).join('') + '</table>' : '');
            list();
          }).catch(function (x) { rep.innerHTML = '<p class="error">' + NX.esc(NX.errText(x)) + '</p>'; }).then(function () { bar.hidden = true; });
        };
      }
      return list();
    }
  });

  NX.view('progress', {
    title: '培训进度', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '人次对照 10000 目标',
    render: function (el) {
      return NX.get('/progress').then(function (p) {
        var pct = Math.min(100, Math.round(p.person_times * 100 / p.target));
        var names = { poverty: '建档立卡贫困户', woman: '妇女', youth: '青年', returnee_graduate: '返乡大学生', returnee_worker: '返乡农民工', veteran: '退役军人', disabled: '残疾人' };
        el.innerHTML = '<h1>培训进度</h1><div class="grid"><div class="kpi"><b>' + p.person_times + '</b>培训人次 / 目标 ' + p.target + '</div>' +
          '<div class="kpi"><b>' + p.trainees + '</b>参训人数</div><div class="kpi"><b>' + p.registered + '</b>登记学员</div></div>' +
          '<progress value="' + pct + '" max="100"></progress><p class="muted">' + pct + '%</p>' +
          '<h2>按人群（人次）</h2><table>' + Object.keys(p.by_group).map(function (g) { return '<tr><td>' + NX.esc(names[g] || g) + '</td><td>' + p.by_group[g] + '</td></tr>'; }).join('') + '</table>' +
          '<h2>按月（人次）</h2><table>' + Object.keys(p.by_month).sort().map(function (m) { return '<tr><td>' + NX.esc(m) + '</td><td>' + p.by_month[m] + '</td></tr>'; }).join('') + '</table>';
      });
    }
  });
})();
