/* 三级物流：上行下行包裹量、县到村时效、按节点；查运单（节点显示站点名称）；
   管理员登记包裹（起止站点按乡镇筛选并可搜索）。NX.parcels 供站点手机页使用。 */
(function () {
  'use strict';
  var esc = NX.esc;
  var SCAN = { received: '收件', sorted: '分拣', dispatched: '发出', delivered: '投递到站', picked_up: '已取件' };
  var STATE = { created: '待收件', received: '已收件', sorted: '已分拣', dispatched: '运输中', delivered: '已到站', picked_up: '已取件' };
  var DIR = { up: '上行', down: '下行' };
  var KIND = { county_center: '县级公共服务中心', warehouse: '县级仓储物流中心', township: '乡镇服务站', village: '村级服务点' };

  function pct(x) { return (Math.round((x || 0) * 1000) / 10) + '%'; }
  function fail(el) { return function (err) { el.innerHTML = '<p class="error">' + esc(NX.errText(err)) + '</p>'; }; }
  function kpi(label, value, sub) { return '<div class="kpi">' + esc(label) + '<b>' + esc(value) + '</b><span class="small muted">' + esc(sub || '') + '</span></div>'; }
  function td(label, html) { return '<td data-label="' + esc(label) + '">' + html + '</td>'; }

  /* A parcel's trace: every node by its station name (route_names from the server). */
  function traceHTML(p) {
    var names = {};
    (p.route || []).forEach(function (id, i) { names[id] = (p.route_names || [])[i] || '（未知站点）'; });
    var route = (p.route || []).map(function (id) { return esc(names[id]); }).join(' → ');
    return '<div class="card"><b>运单 ' + esc(p.waybill) + '</b> <span class="tag">' + esc(DIR[p.direction] || '') + '</span> ' +
      '<span class="tag ' + (p.state === 'picked_up' || p.state === 'delivered' ? 'good' : 'warn') + '">' + esc(STATE[p.state] || '') + '</span>' +
      (p.archived ? ' <span class="tag">已归档</span>' : '') +
      '<p class="small">路线：' + route + (p.product ? '<br>品名：' + esc(p.product) : '') + '</p>' +
      (p.scans.length ? '<ol class="small">' + p.scans.map(function (s) {
        return '<li>' + esc(NX.time(s.at)) + ' · ' + esc(s.node_name || names[s.node_id] || '（未知站点）') + ' · ' + esc(SCAN[s.kind] || '') + '</li>';
      }).join('') + '</ol>' : '<p class="small muted">尚未扫描</p>') + '</div>';
  }
  NX.parcels = { SCAN: SCAN, traceHTML: traceHTML };

  function trace(box, waybill) {
    box.innerHTML = '<p class="muted">查询中…</p>';
    return NX.get('/parcels/' + encodeURIComponent(waybill.trim())).then(function (p) { box.innerHTML = traceHTML(p); }, fail(box));
  }

  function volumesHTML(v) {
    var days = v.days.filter(function (d) { return d.up || d.down; }).reverse();
    return '<div class="grid">' + kpi('上行包裹', v.up, '农产品出村进城') + kpi('下行包裹', v.down, '工业品下乡进村') + kpi('上行占比', pct(v.upward_share), '') +
      kpi('县到村平均时效', v.county_to_village_deliveries ? v.avg_county_to_village_hours + ' 小时' : '—', v.county_to_village_deliveries + ' 件') + '</div>' +
      '<p class="small muted">' + esc(v.from) + ' 至 ' + esc(v.to) + '（按登记日期，北京时间）</p>' +
      '<h2>按日</h2>' + (days.length ? '<table class="rows"><thead><tr><th>日期</th><th>上行</th><th>下行</th></tr></thead><tbody>' +
        days.map(function (d) { return '<tr>' + td('日期', esc(d.date)) + td('上行', d.up) + td('下行', d.down) + '</tr>'; }).join('') +
        '</tbody></table>' : '<p class="muted">这段时间没有包裹。</p>') +
      '<h2>按节点</h2>' + (v.nodes.length ? '<table class="rows"><thead><tr><th>站点</th><th>类型</th><th>上行</th><th>下行</th></tr></thead><tbody>' +
        v.nodes.map(function (n) { return '<tr>' + td('站点', esc(n.name)) + td('类型', esc(KIND[n.kind] || '')) + td('上行', n.up) + td('下行', n.down) + '</tr>'; }).join('') +
        '</tbody></table>' : '<p class="muted">暂无经过节点的包裹。</p>');
  }

  NX.view('logistics', {
    title: '物流量', roles: ['admin', 'officer', 'auditor', 'trainer'], hint: '上行下行包裹、县到村时效、查运单',
    render: function (el) {
      var admin = NX.user.role === 'admin';
      el.innerHTML = '<h1>三级物流</h1>' +
        '<form class="card" id="lg-w"><label>查运单<input name="waybill" required autocomplete="off" placeholder="输入运单号"></label><button class="primary">查询</button><div id="lg-trace"></div></form>' +
        '<form class="row" id="lg-q"><label>从<input type="date" name="from"></label><label>到<input type="date" name="to"></label><button>查询</button></form>' +
        '<div id="lg-out"><p class="muted">加载中…</p></div>' +
        (admin ? '<h2>登记包裹</h2><form class="card" id="lg-new"></form>' : '');
      var out = el.querySelector('#lg-out');
      function load(q) { NX.get('/parcels/volumes' + (q || '')).then(function (v) { out.innerHTML = volumesHTML(v); }, fail(out)); }
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
      if (admin) newParcelForm(el.querySelector('#lg-new'));
    }
  });

  /* Admin: register a parcel between two operating stations, each picked by township and search. */
  function newParcelForm(f) {
    f.innerHTML = '<label>运单号<input name="waybill" required autocomplete="off" maxlength="32"></label>' +
      '<label>方向<select name="direction"><option value="down">下行（县 → 乡村）</option><option value="up">上行（乡村 → 县）</option></select></label>' +
      '<fieldset><legend>起点站</legend><div id="lg-o"></div></fieldset><fieldset><legend>终点站</legend><div id="lg-d"></div></fieldset>' +
      '<div class="row"><label>品名<input name="product" maxlength="60"></label><label>重量（克）<input name="weight_g" type="number" min="0" max="200000" inputmode="numeric"></label></div>' +
      '<button class="primary">登记</button><div class="msg"></div>';
    var o = NX.stations.picker(f.querySelector('#lg-o'), 'origin_id', { status: 'operating' });
    var d = NX.stations.picker(f.querySelector('#lg-d'), 'destination_id', { status: 'operating' });
    f.onsubmit = function (e) {
      e.preventDefault();
      var b = NX.form(f), msg = f.querySelector('.msg');
      b.origin_id = o.value(); b.destination_id = d.value();
      NX.post('/parcels', b).then(function (p) { msg.innerHTML = traceHTML(p); f.elements.waybill.value = ''; }, fail(msg));
    };
  }
})();
