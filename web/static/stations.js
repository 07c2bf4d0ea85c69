/* 服务站点：办公室的站点列表与覆盖率（按乡镇筛选、搜索），站点详情（状态、验收、照片、修改），
   站点运营人员的手机页（登记服务、扫描包裹、寄出农产品）。NX.stations 提供站点选择器。 */
(function () {
  'use strict';
  var esc = NX.esc;
  var KIND = { county_center: '县级公共服务中心', warehouse: '县级仓储物流中心', township: '乡镇服务站', village: '村级服务点' };
  var STATUS = { planned: '规划中', built: '已建成', accepted: '已验收', operating: '运营中', closed: '已关闭' };
  var NEXT = { planned: 'built', built: 'accepted', accepted: 'operating', operating: 'closed' };
  var SERVICES = ['代买', '代卖', '缴费', '票务预订', '快递代收', '快递代发', '其他'];
  var regionData = null;

  /* The region tree, read once per page load: names, townships, each region's township. */
  function regions() {
    if (regionData) return Promise.resolve(regionData);
    return NX.get('/regions').then(function (list) {
      var r = { list: list, name: {}, townships: [], townshipOf: {} };
      list.forEach(function (x) { r.name[x.id] = x.name; if (x.level === 'township') r.townships.push(x); });
      list.forEach(function (x) { r.townshipOf[x.id] = x.level === 'township' ? x.id : x.level === 'village' ? x.parent_id : ''; });
      regionData = r;
      return r;
    });
  }
  function pct(x) { return (Math.round((x || 0) * 1000) / 10) + '%'; }
  function tag(status) {
    var cls = status === 'operating' ? 'good' : status === 'closed' ? 'bad' : status === 'planned' ? '' : 'warn';
    return '<span class="tag ' + cls + '">' + esc(STATUS[status] || '') + '</span>';
  }
  function td(label, html) { return '<td data-label="' + esc(label) + '">' + html + '</td>'; }
  function nowLocal() {
    var d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }
  function fail(el) { return function (err) { el.innerHTML = '<span class="error">' + esc(NX.errText(err)) + '</span>'; }; }
  function kpi(label, value, sub) { return '<div class="kpi">' + esc(label) + '<b>' + esc(value) + '</b><span class="small muted">' + esc(sub || '') + '</span></div>'; }
  function townshipOptions(r, all) {
    return '<option value="">' + esc(all) + '</option>' + r.townships.map(function (t) { return '<option value="' + esc(t.id) + '">' + esc(t.name) + '</option>'; }).join('');
  }

  /* A picker of one item (a station or a region): filter by township, search by name. items: [{id, name, township_id, sub}]. */
  function pick(box, items, r, placeholder) {
    box.innerHTML = '<div class="row"><label>乡镇<select class="pk-t">' + townshipOptions(r, '全部乡镇（含县级）') + '</select></label>' +
      '<label>搜索<input class="pk-q" type="search" placeholder="输入名称中的字"></label></div><label>' + esc(placeholder) + '<select class="pk-v" required></select></label>';
    var t = box.querySelector('.pk-t'), q = box.querySelector('.pk-q'), v = box.querySelector('.pk-v');
    function fill() {
      var keep = v.value, words = q.value.trim();
      var shown = items.filter(function (x) { return (!t.value || x.township_id === t.value) && (!words || x.name.indexOf(words) >= 0); });
      v.innerHTML = shown.length ? shown.map(function (x) {
        return '<option value="' + esc(x.id) + '"' + (x.id === keep ? ' selected' : '') + '>' + esc(x.name) + (x.sub ? '（' + esc(x.sub) + '）' : '') + '</option>';
      }).join('') : '<option value="">没有符合的项</option>';
    }
    t.onchange = fill; q.oninput = fill; fill();
    return { value: function () { return v.value; }, el: v };
  }

  NX.stations = {
    KIND: KIND, STATUS: STATUS,
    /* picker(box, name, {status}) fills box with a station picker; .value() is the chosen station's id. */
    picker: function (box, name, f) {
      var api = { value: function () { return ''; } };
      Promise.all([NX.get('/stations?status=' + encodeURIComponent((f && f.status) || '')), regions()]).then(function (res) {
        var r = res[1];
        var items = res[0].items.map(function (s) { return { id: s.id, name: s.name, township_id: s.township_id, sub: KIND[s.kind] + ' · ' + (r.name[s.region_id] || '') }; });
        var p = pick(box, items, r, '站点');
        api.value = p.value;
      }, fail(box));
      return { value: function () { return api.value(); } };
    }
  };

  function coverageHTML(c) {
    var met = function (r) { return r >= c.target_ratio ? '达标' : '目标 ' + pct(c.target_ratio); };
    return '<div class="grid">' +
      kpi('行政村覆盖', c.villages_covered + ' / ' + c.villages_total, pct(c.ratio) + ' · ' + met(c.ratio)) +
      kpi('贫困村覆盖', c.poverty_villages_covered + ' / ' + c.poverty_villages_total, pct(c.poverty_ratio) + ' · ' + met(c.poverty_ratio)) +
      kpi('乡镇服务站', c.townships_covered + ' / ' + c.townships_total, '运营中') +
      kpi('运营中的村级服务点', c.operating_points, '规划目标 190 个') + '</div>';
  }

  function subsidyText(s) {
    if (!s.subsidy_fen) return '—';
    return NX.yuan(s.subsidy_fen) + ' 元' + (s.subsidy_paid ? ' <span class="tag good">已支付</span>' : (s.accepted_at ? ' <span class="tag warn">应付未付</span>' : ' <span class="tag">验收后应付</span>'));
  }

  /* ---------- office: station list with coverage ---------- */
  NX.view('stations', {
    title: '服务站点', roles: ['admin', 'officer', 'auditor', 'trainer'], hint: '站点建设、验收、覆盖率',
    render: function (el) {
      var admin = NX.user.role === 'admin', officer = NX.user.role === 'officer';
      return regions().then(function (r) {
        el.innerHTML = '<h1>服务站点</h1><div id="st-cov"><p class="muted">加载中…</p></div>' +
          '<div class="row">' + (officer ? '' : '<label>乡镇<select id="st-tw">' + townshipOptions(r, '全部') + '</select></label>') +
          '<label>类型<select id="st-kind"><option value="">全部</option>' +
          Object.keys(KIND).map(function (k) { return '<option value="' + k + '">' + KIND[k] + '</option>'; }).join('') + '</select></label>' +
          '<label>状态<select id="st-status"><option value="">全部</option>' +
          Object.keys(STATUS).map(function (k) { return '<option value="' + k + '">' + STATUS[k] + '</option>'; }).join('') + '</select></label>' +
          '<label>搜索<input id="st-q" type="search" placeholder="站点名称"></label></div>' +
          '<div id="st-list"></div>' + (admin ? '<h2>新建站点</h2><div class="card" id="st-new"></div>' : '');
        NX.get('/stations/coverage').then(function (c) { el.querySelector('#st-cov').innerHTML = coverageHTML(c); }, fail(el.querySelector('#st-cov')));
        var items = [];
        var box = el.querySelector('#st-list');
        function show() {
          var q = el.querySelector('#st-q').value.trim();
          var shown = items.filter(function (s) { return !q || s.name.indexOf(q) >= 0; });
          if (!shown.length) { box.innerHTML = '<p class="muted">暂无站点。</p>'; return; }
          box.innerHTML = '<table class="rows"><thead><tr><th>站点</th><th>类型</th><th>所在地</th><th>状态</th><th>方式</th><th>运营人员</th><th>建设补助</th></tr></thead><tbody>' +
            shown.map(function (s) {
              return '<tr>' + td('站点', '<a href="#/station/' + esc(s.id) + '">' + esc(s.name) + '</a>') + td('类型', esc(KIND[s.kind])) +
                td('所在地', esc(r.name[s.region_id] || '')) + td('状态', tag(s.status)) + td('方式', s.origin === 'new' ? '新建' : '整合') +
                td('运营人员', esc(s.operator_name || '—')) + td('建设补助', subsidyText(s)) + '</tr>';
            }).join('') + '</tbody></table>';
        }
        function load() {
          var tw = el.querySelector('#st-tw');
          var q = '?kind=' + el.querySelector('#st-kind').value + '&status=' + el.querySelector('#st-status').value + (tw && tw.value ? '&township_id=' + tw.value : '');
          NX.get('/stations' + q).then(function (res) { items = res.items; show(); }, fail(box));
        }
        ['#st-kind', '#st-status', '#st-tw'].forEach(function (s) { var x = el.querySelector(s); if (x) x.onchange = load; });
        el.querySelector('#st-q').oninput = show;
        load();
        if (admin) newStationForm(el.querySelector('#st-new'), r, load);
      });
    }
  });

  function newStationForm(box, r, done) {
    box.innerHTML = '<form><label>名称<input name="name" required maxlength="60"></label>' +
      '<div class="row"><label>类型<select name="kind">' + Object.keys(KIND).map(function (k) { return '<option value="' + k + '">' + KIND[k] + '</option>'; }).join('') + '</select></label>' +
      '<label>建设方式<select name="origin"><option value="new">新建</option><option value="integrated">整合</option></select></label></div>' +
      '<fieldset><legend>所在区域</legend><div id="st-region"></div></fieldset>' +
      '<div class="row"><label>面积（平方米）<input name="area_m2" type="number" min="0" step="0.1"></label><label>地址<input name="address" maxlength="120"></label></div>' +
      '<button class="primary">新建</button><p class="msg"></p></form>';
    var levels = { county: '县', township: '乡镇', village: '行政村' };
    var items = r.list.map(function (x) {
      return { id: x.id, name: x.name, township_id: r.townshipOf[x.id], sub: (levels[x.level] || '') + (x.poverty ? '，贫困村' : '') };
    });
    var region = pick(box.querySelector('#st-region'), items, r, '区域');
    var f = box.querySelector('form');
    f.onsubmit = function (e) {
      e.preventDefault();
      var msg = f.querySelector('.msg'), b = NX.form(f);
      b.region_id = region.value();
      NX.post('/stations', b).then(function (s) { msg.innerHTML = '<span class="ok">已新建：' + esc(s.name) + '</span>'; f.reset(); done(); }, fail(msg));
    };
  }

  /* Photos are read with the token, so they are fetched and shown from memory. */
  function showPhotos(box, id, photos) {
    box.innerHTML = photos.length ? '<div class="grid">' + photos.map(function (p) {
      return '<figure class="kpi" style="margin:0"><img alt="' + esc(p.name) + '" data-photo="' + esc(p.id) + '" style="width:100%;height:auto"><figcaption class="small muted">' + esc(NX.date(p.at)) + '</figcaption></figure>';
    }).join('') + '</div>' : '<p class="muted">还没有照片。</p>';
    box.querySelectorAll('img[data-photo]').forEach(function (img) {
      fetch('/api/v1/stations/' + id + '/photos/' + img.dataset.photo, { headers: { Authorization: 'Bearer ' + NX.token() } })
        .then(function (r) { if (!r.ok) throw new Error(); return r.blob(); })
        .then(function (b) { img.src = URL.createObjectURL(b); }, function () { img.alt = '照片无法显示'; });
    });
  }

  /* ---------- station detail ---------- */
  NX.view('station', {
    title: '站点详情', menu: false, roles: ['admin', 'officer', 'auditor', 'trainer', 'station'],
    render: function (el, args) {
      var id = args[0];
      return Promise.all([NX.get('/stations/' + id), regions(), NX.get('/stations/checklist'), NX.get('/stations/' + id + '/services?limit=20')]).then(function (r) {
        var s = r[0], names = r[1].name, checklist = r[2].items, svc = r[3];
        var admin = NX.user.role === 'admin', mine = NX.user.role === 'station' && NX.user.station_id === s.id;
        var html = '<h1>' + esc(s.name) + ' ' + tag(s.status) + '</h1><div class="card"><p>' + esc(KIND[s.kind]) + ' · ' + esc(names[s.region_id] || '') + ' · ' +
          (s.origin === 'new' ? '新建' : '整合') + (s.area_m2 ? ' · ' + s.area_m2 + ' 平方米' : '') + '</p>' +
          '<p class="small">地址：' + esc(s.address || '—') + '；营业时间：' + esc(s.hours || '—') + '；运营人员：' + esc(s.operator_name || '—') + '</p>' +
          '<p class="small">服务项目：' + esc((s.services || []).join('、') || '—') + '</p>' +
          (s.subsidy_fen ? '<p class="small">建设补助：' + subsidyText(s) + '</p>' : '') + '</div>';
        html += '<h2>状态记录</h2><table class="rows"><thead><tr><th>状态</th><th>时间</th><th>备注</th></tr></thead><tbody>' + (s.history || []).map(function (h) {
          return '<tr>' + td('状态', tag(h.status)) + td('时间', esc(NX.time(h.at))) + td('备注', esc(h.note || '—')) + '</tr>';
        }).join('') + '</tbody></table>';
        if ((s.inspections || []).length) {
          html += '<h2>验收记录</h2>' + s.inspections.map(function (i) {
            return '<div class="card"><b>' + (i.result === 'pass' ? '合格' : '不合格') + '</b> · ' + esc(NX.date(i.at)) + ' · 验收人 ' + esc(i.inspector) +
              '<ul class="small">' + i.items.map(function (it) { return '<li>' + (it.ok ? '✔ ' : '✘ ') + esc(it.label) + '</li>'; }).join('') + '</ul></div>';
          }).join('');
        }
        html += '<h2>站点照片</h2><div id="st-photos"></div>' + (admin || mine ? '<form class="card" id="st-photo"><label>上传照片（门牌、公示栏、服务场所）<input type="file" name="file" accept="image/*" capture="environment" required></label><button class="primary">上传</button><p class="msg"></p></form>' : '');
        if (admin && NEXT[s.status]) {
          var next = NEXT[s.status];
          html += '<h2>下一步：' + esc(STATUS[next]) + '</h2><form class="card" id="st-step"><label>时间<input name="at" type="datetime-local" required value="' + nowLocal() + '"></label>' +
            (next === 'accepted' ? '<label>验收人<input name="inspector" required maxlength="40"></label><fieldset><legend>验收清单</legend>' +
              checklist.filter(function (c) { return c.kinds.indexOf(s.kind) >= 0; }).map(function (c) {
                return '<label><input type="checkbox" data-check="' + esc(c.key) + '">' + esc(c.label) + (c.required ? ' <span class="tag">必备</span>' : '') + '</label>';
              }).join('') + '</fieldset><label>结论<select name="result"><option value="pass">合格</option><option value="fail">不合格（仅登记）</option></select></label>' : '') +
            '<label>备注<input name="note" maxlength="500"></label><button class="primary">确认</button><p class="msg"></p></form>';
        }
        if (admin || mine) {
          html += '<h2>修改信息</h2><form class="card" id="st-edit"><label>地址<input name="address" maxlength="120" value="' + esc(s.address || '') + '"></label>' +
            '<label>营业时间<input name="hours" maxlength="60" value="' + esc(s.hours || '') + '"></label><fieldset><legend>服务项目</legend>' +
            SERVICES.map(function (k) { return '<label><input type="checkbox" name="services" data-list="1" value="' + k + '"' + ((s.services || []).indexOf(k) >= 0 ? ' checked' : '') + '>' + k + '</label>'; }).join('') +
            '</fieldset>' + (admin ? '<label>运营人员账号编号<input name="operator_id" value="' + esc(s.operator_id || '') + '"></label>' : '') +
            '<button class="primary">保存</button><p class="msg"></p></form>';
        }
        var t = svc.totals;
        html += '<h2>服务登记</h2><p>累计 ' + t.count + ' 次，金额 ' + NX.yuan(t.amount_fen) + ' 元</p>' + (svc.items.length ? '<table class="rows"><thead><tr><th>时间</th><th>服务</th><th>次数</th><th>金额（元）</th></tr></thead><tbody>' +
          svc.items.map(function (e) { return '<tr>' + td('时间', esc(NX.time(e.at))) + td('服务', esc(e.kind)) + td('次数', e.count + ' 次') + td('金额（元）', NX.yuan(e.amount_fen)) + '</tr>'; }).join('') + '</tbody></table>' : '<p class="muted">暂无服务记录。</p>');
        el.innerHTML = html;
        showPhotos(el.querySelector('#st-photos'), id, s.photos || []);
        var up = el.querySelector('#st-photo');
        if (up) up.onsubmit = function (e) {
          e.preventDefault();
          var msg = up.querySelector('.msg'), fd = new FormData(); fd.append('file', up.elements.file.files[0]);
          msg.textContent = '上传中…';
          NX.upload('/stations/' + id + '/photos', fd, function (p) { msg.textContent = '上传中 ' + Math.round(p * 100) + '%'; }).then(function () { NX.route(); }, fail(msg));
        };
        var step = el.querySelector('#st-step');
        if (step) step.onsubmit = function (e) {
          e.preventDefault();
          var body = NX.form(step), msg = step.querySelector('.msg'), next = NEXT[s.status];
          delete body.result;
          var path = '/stations/' + id + '/status';
          body.status = next;
          if (next === 'accepted') {
            body.checklist = {};
            step.querySelectorAll('[data-check]').forEach(function (c) { body.checklist[c.dataset.check] = c.checked; });
            body.result = step.querySelector('[name=result]').value;
            if (body.result === 'fail') { path = '/stations/' + id + '/acceptance'; delete body.status; }
          }
          NX.post(path, body).then(function () { NX.route(); }, fail(msg));
        };
        var edit = el.querySelector('#st-edit');
        if (edit) edit.onsubmit = function (e) {
          e.preventDefault();
          var body = NX.form(edit), msg = edit.querySelector('.msg');
          body.services = body.services || [];
          body.address = body.address || ''; body.hours = body.hours || '';
          if (admin) body.operator_id = body.operator_id || '';
          NX.api('PATCH', '/stations/' + id, body).then(function () { msg.innerHTML = '<span class="ok">已保存</span>'; }, fail(msg));
        };
      });
    }
  });

  /* ---------- station operator's phone ---------- */
  var QKEY = 'nx.station.queue';
  function queue() { try { return JSON.parse(localStorage.getItem(QKEY) || '[]'); } catch (e) { return []; } }
  function saveQueue(q) { localStorage.setItem(QKEY, JSON.stringify(q)); }
  function flush() {
    var q = queue();
    if (!q.length || !navigator.onLine || !NX.token()) return Promise.resolve(0);
    var item = q[0];
    return NX.post(item.path, item.body).then(function () { saveQueue(queue().slice(1)); return flush(); }, function (err) {
      if (err && err.status && err.status < 500) { saveQueue(queue().slice(1)); return flush(); } // refused: drop it
      return 0;
    });
  }
  window.addEventListener('online', flush);

  /* NX.form keeps the last radio of a group, not the checked one. */
  function picked(form) { var r = form.querySelector('input[name=kind]:checked'); return r ? r.value : ''; }
  function choices(name, list, first) {
    return '<div class="grid" style="grid-template-columns:repeat(auto-fill,minmax(96px,1fr))">' + list.map(function (k, i) {
      return '<label class="kpi" style="margin:0;text-align:center;font-size:1.05rem"><input type="radio" name="' + name + '" value="' + esc(k[0]) + '"' + (i === first ? ' checked' : '') + '>' + esc(k[1]) + '</label>';
    }).join('') + '</div>';
  }

  NX.view('station-phone', {
    title: '站点服务', roles: ['station'], hint: '扫描包裹、登记代买代卖和缴费等服务',
    render: function (el) {
      var sid = NX.user.station_id;
      flush();
      return NX.get('/stations').then(function (r) {
        var mine = r.items.filter(function (s) { return s.id === sid; })[0];
        var county = r.items.filter(function (s) { return (s.kind === 'county_center' || s.kind === 'warehouse') && s.status === 'operating'; });
        if (!mine) { el.innerHTML = '<p class="error">未找到您的站点，请联系县电商办。</p>'; return; }
        var SCAN = NX.parcels.SCAN;
        el.innerHTML = '<h1>' + esc(mine.name) + ' ' + tag(mine.status) + '</h1>' +
          (mine.status !== 'operating' ? '<p class="card small">站点尚未运营，暂不能收发包裹和登记服务。</p>' : '') +
          '<h2>扫描包裹</h2><form class="card" id="sp-scan"><label>运单号<input name="waybill" required autocomplete="off" autocapitalize="characters" inputmode="text" style="font-size:1.3rem" placeholder="扫码枪或手动输入"></label>' +
          choices('kind', Object.keys(SCAN).map(function (k) { return [k, SCAN[k]]; }), 0) +
          '<button class="primary" style="margin-top:.6rem;font-size:1.15rem">确认扫描</button><div class="msg"></div></form>' +
          '<h2>寄出农产品（上行）</h2><form class="card" id="sp-send"><label>运单号<input name="waybill" required autocomplete="off" autocapitalize="characters"></label>' +
          '<label>寄往<select name="destination_id">' + county.map(function (s) { return '<option value="' + esc(s.id) + '">' + esc(s.name) + '</option>'; }).join('') + '</select></label>' +
          '<div class="row"><label>品名<input name="product" maxlength="60"></label><label>重量（克）<input name="weight_g" type="number" min="0" inputmode="numeric"></label></div>' +
          '<button class="primary">登记并收件</button><div class="msg"></div></form>' +
          '<h2>登记服务</h2><form class="card" id="sp-svc">' + choices('kind', SERVICES.map(function (k) { return [k, k]; }), 0) +
          '<div class="row"><label>次数<input name="count" type="number" min="1" max="10000" value="1" required inputmode="numeric"></label>' +
          '<label>金额（元）<input name="yuan" type="number" min="0" step="0.01" inputmode="decimal"></label></div>' +
          '<label>备注<input name="note" maxlength="200"></label><button class="primary">登记</button><p class="msg"></p></form>' +
          '<p><a href="#/station/' + esc(sid) + '">本站详情、照片与服务记录</a></p>';

        var svc = el.querySelector('#sp-svc');
        svc.onsubmit = function (e) {
          e.preventDefault();
          var f = NX.form(svc), msg = svc.querySelector('.msg');
          var body = { kind: picked(svc), count: f.count, amount_fen: Math.round((f.yuan || 0) * 100), note: f.note || '',
            at: new Date().toISOString(), client_id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8) };
          var path = '/stations/' + sid + '/services';
          if (!navigator.onLine) {
            var q = queue(); q.push({ path: path, body: body }); saveQueue(q);
            msg.innerHTML = '<span class="ok">已离线保存，联网后自动上传</span>'; svc.reset(); return;
          }
          NX.post(path, body).then(function () { msg.innerHTML = '<span class="ok">已登记：' + esc(body.kind) + ' ' + body.count + ' 次</span>'; svc.reset(); }, function (err) {
            if (!err.status) { var q = queue(); q.push({ path: path, body: body }); saveQueue(q); msg.innerHTML = '<span class="ok">网络不稳，已保存，稍后自动上传</span>'; return; }
            fail(msg)(err);
          });
        };
        var scan = el.querySelector('#sp-scan');
        scan.onsubmit = function (e) {
          e.preventDefault();
          var f = NX.form(scan), msg = scan.querySelector('.msg'), w = scan.querySelector('[name=waybill]');
          NX.post('/parcels/' + encodeURIComponent(f.waybill.trim()) + '/scans', { node_id: sid, kind: picked(scan), at: new Date().toISOString() })
            .then(function (p) { msg.innerHTML = '<p class="ok">已' + esc(SCAN[p.state]) + '</p>' + NX.parcels.traceHTML(p); w.value = ''; w.focus(); }, fail(msg));
        };
        var send = el.querySelector('#sp-send');
        send.onsubmit = function (e) {
          e.preventDefault();
          var f = NX.form(send), msg = send.querySelector('.msg');
          f.direction = 'up'; f.origin_id = sid;
          NX.post('/parcels', f).then(function (p) {
            return NX.post('/parcels/' + encodeURIComponent(p.waybill) + '/scans', { node_id: sid, kind: 'received', at: new Date().toISOString() });
          }).then(function (p) { msg.innerHTML = NX.parcels.traceHTML(p); send.reset(); }, fail(msg));
        };
      });
    }
  });
})();
