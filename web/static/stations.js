/* 服务站点与物流：office list with coverage, station detail (status,
   acceptance, edit), logistics volumes; the station operator's phone page
   (log a service, scan or send a parcel). */
(function () {
  'use strict';
  var esc = NX.esc;
  var KIND = { county_center: '县级公共服务中心', warehouse: '县级仓储物流中心', township: '乡镇服务站', village: '村级服务点' };
  var STATUS = { planned: '规划中', built: '已建成', accepted: '已验收', operating: '运营中', closed: '已关闭' };
  var NEXT = { planned: 'built', built: 'accepted', accepted: 'operating', operating: 'closed' };
  var SCAN = { received: '收件', sorted: '分拣', dispatched: '发出', delivered: '投递到站', picked_up: '已取件' };
  var SERVICES = ['代买', '代卖', '缴费', '票务预订', '快递代收', '快递代发', '其他'];
  var regionNames = null;

  function regions() {
    if (regionNames) return Promise.resolve(regionNames);
    return NX.get('/regions').then(function (list) {
      regionNames = { list: list, name: {} };
      list.forEach(function (r) { regionNames.name[r.id] = r.name; });
      return regionNames;
    });
  }
  function pct(x) { return (Math.round((x || 0) * 1000) / 10) + '%'; }
  function tag(status) {
    var cls = status === 'operating' ? 'good' : status === 'closed' ? 'bad' : status === 'planned' ? '' : 'warn';
    return '<span class="tag ' + cls + '">' + esc(STATUS[status] || status) + '</span>';
  }
  function nowLocal() {
    var d = new Date(Date.now() - new Date().getTimezoneOffset() * 60000);
    return d.toISOString().slice(0, 16);
  }
  function fail(el) { return function (err) { el.innerHTML = '<span class="error">' + esc(NX.errText(err)) + '</span>'; }; }
  function kpi(label, value, sub) { return '<div class="kpi">' + esc(label) + '<b>' + esc(value) + '</b><span class="small muted">' + esc(sub || '') + '</span></div>'; }

  function coverageHTML(c) {
    var met = function (r) { return r >= c.target_ratio ? '达标' : '目标 ' + pct(c.target_ratio); };
    return '<div class="grid">' +
      kpi('行政村覆盖', c.villages_covered + ' / ' + c.villages_total, pct(c.ratio) + ' · ' + met(c.ratio)) +
      kpi('贫困村覆盖', c.poverty_villages_covered + ' / ' + c.poverty_villages_total, pct(c.poverty_ratio) + ' · ' + met(c.poverty_ratio)) +
      kpi('乡镇服务站', c.townships_covered + ' / ' + c.townships_total, '运营中') +
      kpi('运营中的村级服务点', c.operating_points, '规划目标 190 个') + '</div>';
  }

  /* ---------- office: station list with coverage ---------- */
  NX.view('stations', {
    title: '服务站点', roles: ['admin', 'officer', 'auditor', 'trainer'], hint: '站点建设、验收、覆盖率',
    render: function (el) {
      var admin = NX.user.role === 'admin';
      el.innerHTML = '<h1>服务站点</h1><div id="st-cov"><p class="muted">加载中…</p></div>' +
        '<div class="row"><label>类型<select id="st-kind"><option value="">全部</option>' +
        Object.keys(KIND).map(function (k) { return '<option value="' + k + '">' + KIND[k] + '</option>'; }).join('') + '</select></label>' +
        '<label>状态<select id="st-status"><option value="">全部</option>' +
        Object.keys(STATUS).map(function (k) { return '<option value="' + k + '">' + STATUS[k] + '</option>'; }).join('') + '</select></label></div>' +
        '<div id="st-list" class="scroll"></div>' + (admin ? '<h2>新建站点</h2><div class="card" id="st-new"></div>' : '');
      NX.get('/stations/coverage').then(function (c) { el.querySelector('#st-cov').innerHTML = coverageHTML(c); }, fail(el.querySelector('#st-cov')));
      function load() {
        var q = '?kind=' + el.querySelector('#st-kind').value + '&status=' + el.querySelector('#st-status').value;
        var box = el.querySelector('#st-list');
        Promise.all([NX.get('/stations' + q), regions()]).then(function (r) {
          var items = r[0].items, names = r[1].name;
          if (!items.length) { box.innerHTML = '<p class="muted">暂无站点。</p>'; return; }
          box.innerHTML = '<table><thead><tr><th>站点</th><th>类型</th><th>所在地</th><th>状态</th><th>方式</th><th>运营人员</th><th>补助</th></tr></thead><tbody>' +
            items.map(function (s) {
              return '<tr><td><a href="#/station/' + esc(s.id) + '">' + esc(s.name) + '</a></td><td>' + esc(KIND[s.kind]) + '</td><td>' + esc(names[s.region_id] || '') +
                '</td><td>' + tag(s.status) + '</td><td>' + (s.origin === 'new' ? '新建' : '整合') + '</td><td>' + esc(s.operator_name || '—') + '</td><td>' +
                (s.subsidy_fen ? NX.yuan(s.subsidy_fen) + (s.subsidy_paid ? ' <span class="tag good">已付</span>' : (s.accepted_at ? ' <span class="tag warn">应付</span>' : '')) : '—') + '</td></tr>';
            }).join('') + '</tbody></table>';
        }, fail(box));
      }
      el.querySelector('#st-kind').onchange = load;
      el.querySelector('#st-status').onchange = load;
      load();
      if (admin) newStationForm(el.querySelector('#st-new'), load);
    }
  });

  function newStationForm(box, done) {
    regions().then(function (r) {
      box.innerHTML = '<form><label>名称<input name="name" required maxlength="60"></label>' +
        '<div class="row"><label>类型<select name="kind">' + Object.keys(KIND).map(function (k) { return '<option value="' + k + '">' + KIND[k] + '</option>'; }).join('') + '</select></label>' +
        '<label>建设方式<select name="origin"><option value="new">新建</option><option value="integrated">整合</option></select></label></div>' +
        '<label>所在区域<select name="region_id">' + r.list.map(function (x) {
          return '<option value="' + esc(x.id) + '">' + (x.level === 'village' ? '　　' : x.level === 'township' ? '　' : '') + esc(x.name) + (x.poverty ? '（贫困村）' : '') + '</option>';
        }).join('') + '</select></label>' +
        '<div class="row"><label>面积（平方米）<input name="area_m2" type="number" min="0" step="0.1"></label><label>地址<input name="address" maxlength="120"></label></div>' +
        '<button class="primary">新建</button><p class="msg"></p></form>';
      var f = box.querySelector('form');
      f.onsubmit = function (e) {
        e.preventDefault();
        var msg = f.querySelector('.msg');
        NX.post('/stations', NX.form(f)).then(function (s) { msg.innerHTML = '<span class="ok">已新建：' + esc(s.name) + '</span>'; f.reset(); done(); }, fail(msg));
      };
    });
  }

  /* ---------- station detail ---------- */
  NX.view('station', {
    title: '站点详情', menu: false, roles: ['admin', 'officer', 'auditor', 'trainer', 'station'],
    render: function (el, args) {
      var id = args[0];
      return Promise.all([NX.get('/stations/' + id), regions(), NX.get('/stations/checklist'), NX.get('/stations/' + id + '/services?limit=20')]).then(function (r) {
        var s = r[0], names = r[1].name, checklist = r[2].items, svc = r[3];
        var admin = NX.user.role === 'admin';
        var html = '<h1>' + esc(s.name) + ' ' + tag(s.status) + '</h1><div class="card"><p>' + esc(KIND[s.kind]) + ' · ' + esc(names[s.region_id] || '') + ' · ' +
          (s.origin === 'new' ? '新建' : '整合') + (s.area_m2 ? ' · ' + s.area_m2 + ' 平方米' : '') + '</p>' +
          '<p class="small">地址：' + esc(s.address || '—') + '；营业时间：' + esc(s.hours || '—') + '；运营人员：' + esc(s.operator_name || '—') + '</p>' +
          '<p class="small">服务项目：' + esc((s.services || []).join('、') || '—') + '</p>' +
          (s.subsidy_fen ? '<p class="small">建设补助：' + NX.yuan(s.subsidy_fen) + ' 元，' + (s.subsidy_paid ? '已支付' : s.accepted_at ? '应付未付' : '验收后应付') + '</p>' : '') + '</div>';
        html += '<h2>状态记录</h2><table><tbody>' + (s.history || []).map(function (h) {
          return '<tr><td>' + tag(h.status) + '</td><td>' + esc(NX.time(h.at)) + '</td><td>' + esc(h.note || '') + '</td></tr>';
        }).join('') + '</tbody></table>';
        if ((s.inspections || []).length) {
          html += '<h2>验收记录</h2>' + s.inspections.map(function (i) {
            return '<div class="card"><b>' + (i.result === 'pass' ? '合格' : '不合格') + '</b> · ' + esc(NX.date(i.at)) + ' · 验收人 ' + esc(i.inspector) +
              '<ul class="small">' + i.items.map(function (it) { return '<li>' + (it.ok ? '✔ ' : '✘ ') + esc(it.label) + '</li>'; }).join('') + '</ul></div>';
          }).join('');
        }
        if (admin && NEXT[s.status]) {
          var next = NEXT[s.status];
          html += '<h2>下一步：' + esc(STATUS[next]) + '</h2><form class="card" id="st-step"><label>时间<input name="at" type="datetime-local" required value="' + nowLocal() + '"></label>' +
            (next === 'accepted' ? '<label>验收人<input name="inspector" required maxlength="40"></label><fieldset><legend>验收清单</legend>' +
              checklist.filter(function (c) { return c.kinds.indexOf(s.kind) >= 0; }).map(function (c) {
                return '<label><input type="checkbox" data-check="' + esc(c.key) + '">' + esc(c.label) + (c.required ? ' <span class="tag">必备</span>' : '') + '</label>';
              }).join('') + '</fieldset><label>结论<select name="result"><option value="pass">合格</option><option value="fail">不合格（仅登记）</option></select></label>' : '') +
            '<label>备注<input name="note" maxlength="500"></label><button class="primary">确认</button><p class="msg"></p></form>';
        }
        if (admin || (NX.user.role === 'station' && NX.user.station_id === s.id)) {
          html += '<h2>修改信息</h2><form class="card" id="st-edit"><label>地址<input name="address" maxlength="120" value="' + esc(s.address || '') + '"></label>' +
            '<label>营业时间<input name="hours" maxlength="60" value="' + esc(s.hours || '') + '"></label><fieldset><legend>服务项目</legend>' +
            SERVICES.map(function (k) { return '<label><input type="checkbox" name="services" data-list="1" value="' + k + '"' + ((s.services || []).indexOf(k) >= 0 ? ' checked' : '') + '>' + k + '</label>'; }).join('') +
            '</fieldset>' + (admin ? '<label>运营人员账号编号<input name="operator_id" value="' + esc(s.operator_id || '') + '"></label>' : '') +
            '<button class="primary">保存</button><p class="msg"></p></form>';
        }
        var t = svc.totals;
        html += '<h2>服务登记</h2><p>累计 ' + t.count + ' 次，金额 ' + NX.yuan(t.amount_fen) + ' 元</p><div class="scroll"><table><tbody>' +
          svc.items.map(function (e) { return '<tr><td>' + esc(NX.time(e.at)) + '</td><td>' + esc(e.kind) + '</td><td>' + e.count + ' 次</td><td>' + NX.yuan(e.amount_fen) + '</td></tr>'; }).join('') + '</tbody></table></div>';
        el.innerHTML = html;
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

  /* ---------- office: logistics volumes ---------- */
  NX.view('logistics', {
    title: '物流量', roles: ['admin', 'officer', 'auditor', 'trainer'], hint: '上行下行包裹、县到村时效',
    render: function (el) {
      el.innerHTML = '<h1>三级物流</h1><form class="row" id="lg-q"><label>从<input type="date" name="from"></label><label>到<input type="date" name="to"></label><button>查询</button></form>' +
        '<div id="lg-out"><p class="muted">加载中…</p></div><h2>查运单</h2><form class="row" id="lg-w"><label>运单号<input name="waybill" required></label><button>查询</button></form><div id="lg-trace"></div>';
      var out = el.querySelector('#lg-out');
      function load(q) {
        NX.get('/parcels/volumes' + (q || '')).then(function (v) {
          out.innerHTML = '<div class="grid">' + kpi('上行包裹', v.up, '农产品出村') + kpi('下行包裹', v.down, '') + kpi('上行占比', pct(v.upward_share), '') +
            kpi('县到村平均时效', v.county_to_village_deliveries ? v.avg_county_to_village_hours + ' 小时' : '—', v.county_to_village_deliveries + ' 件') + '</div>' +
            '<p class="small muted">' + esc(v.from) + ' 至 ' + esc(v.to) + '</p>' +
            '<h2>按日</h2><div class="scroll"><table><thead><tr><th>日期</th><th>上行</th><th>下行</th></tr></thead><tbody>' +
            v.days.filter(function (d) { return d.up || d.down; }).reverse().map(function (d) { return '<tr><td>' + esc(d.date) + '</td><td>' + d.up + '</td><td>' + d.down + '</td></tr>'; }).join('') +
            '</tbody></table></div><h2>按节点</h2><div class="scroll"><table><thead><tr><th>节点</th><th>类型</th><th>上行</th><th>下行</th></tr></thead><tbody>' +
            v.nodes.map(function (n) { return '<tr><td>' + esc(n.name) + '</td><td>' + esc(KIND[n.kind] || '') + '</td><td>' + n.up + '</td><td>' + n.down + '</td></tr>'; }).join('') + '</tbody></table></div>';
        }, fail(out));
      }
      load('');
      el.querySelector('#lg-q').onsubmit = function (e) {
        e.preventDefault();
        var f = NX.form(e.target);
        load('?from=' + encodeURIComponent(f.from || '') + '&to=' + encodeURIComponent(f.to || ''));
      };
      el.querySelector('#lg-w').onsubmit = function (e) {
        e.preventDefault();
        trace(el.querySelector('#lg-trace'), NX.form(e.target).waybill);
      };
    }
  });

  function trace(box, waybill) {
    return NX.get('/parcels/' + encodeURIComponent(waybill)).then(function (p) { box.innerHTML = traceHTML(p); }, fail(box));
  }
  function traceHTML(p, names) {
    names = names || {};
    return '<div class="card"><b>' + esc(p.waybill) + '</b> ' + (p.direction === 'up' ? '上行' : '下行') + ' · ' + esc(p.product || '') +
      ' <span class="tag">' + esc(SCAN[p.state] || '待收件') + '</span><ol class="small">' +
      p.scans.map(function (s) { return '<li>' + esc(NX.time(s.at)) + ' ' + esc(names[s.node_id] || s.node_id.slice(-6)) + ' ' + esc(SCAN[s.kind]) + '</li>'; }).join('') + '</ol></div>';
  }

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

  NX.view('station-phone', {
    title: '站点服务', roles: ['station'], hint: '登记代买代卖、缴费等服务，扫描包裹',
    render: function (el) {
      var sid = NX.user.station_id;
      flush();
      return NX.get('/stations').then(function (r) {
        var mine = r.items.filter(function (s) { return s.id === sid; })[0];
        var county = r.items.filter(function (s) { return s.kind === 'county_center' || s.kind === 'warehouse'; });
        var names = {};
        r.items.forEach(function (s) { names[s.id] = s.name; });
        if (!mine) { el.innerHTML = '<p class="error">未找到您的站点，请联系管理员。</p>'; return; }
        el.innerHTML = '<h1>' + esc(mine.name) + ' ' + tag(mine.status) + '</h1>' +
          '<h2>登记服务</h2><form class="card" id="sp-svc"><div class="row">' + SERVICES.map(function (k, i) {
            return '<label><input type="radio" name="kind" value="' + k + '"' + (i === 0 ? ' checked' : '') + '>' + k + '</label>';
          }).join('') + '</div><div class="row"><label>次数<input name="count" type="number" min="1" max="10000" value="1" required inputmode="numeric"></label>' +
          '<label>金额（元）<input name="yuan" type="number" min="0" step="0.01" inputmode="decimal"></label></div>' +
          '<label>备注<input name="note" maxlength="200"></label><button class="primary">登记</button><p class="msg"></p></form>' +
          '<h2>扫描包裹</h2><form class="card" id="sp-scan"><label>运单号<input name="waybill" required autocomplete="off" inputmode="latin"></label>' +
          '<div class="row">' + Object.keys(SCAN).map(function (k, i) { return '<label><input type="radio" name="kind" value="' + k + '"' + (i === 0 ? ' checked' : '') + '>' + SCAN[k] + '</label>'; }).join('') +
          '</div><button class="primary">扫描</button><p class="msg"></p></form>' +
          '<h2>寄出农产品（上行）</h2><form class="card" id="sp-send"><label>运单号<input name="waybill" required autocomplete="off"></label>' +
          '<label>寄往<select name="destination_id">' + county.map(function (s) { return '<option value="' + esc(s.id) + '">' + esc(s.name) + '</option>'; }).join('') + '</select></label>' +
          '<div class="row"><label>品名<input name="product" maxlength="60"></label><label>重量（克）<input name="weight_g" type="number" min="0" inputmode="numeric"></label></div>' +
          '<button class="primary">登记并收件</button><p class="msg"></p></form><p><a href="#/station/' + esc(sid) + '">本站详情与服务记录</a></p>';

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
          var f = NX.form(scan), msg = scan.querySelector('.msg');
          NX.post('/parcels/' + encodeURIComponent(f.waybill.trim()) + '/scans', { node_id: sid, kind: picked(scan), at: new Date().toISOString() })
            .then(function (p) { msg.innerHTML = traceHTML(p, names); scan.querySelector('[name=waybill]').value = ''; }, fail(msg));
        };
        var send = el.querySelector('#sp-send');
        send.onsubmit = function (e) {
          e.preventDefault();
          var f = NX.form(send), msg = send.querySelector('.msg');
          f.direction = 'up'; f.origin_id = sid;
          NX.post('/parcels', f).then(function (p) {
            return NX.post('/parcels/' + encodeURIComponent(p.waybill) + '/scans', { node_id: sid, kind: 'received', at: new Date().toISOString() });
          }).then(function (p) { msg.innerHTML = traceHTML(p, names); send.reset(); }, fail(msg));
        };
      });
    }
  });
})();
