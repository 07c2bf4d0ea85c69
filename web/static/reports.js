/* 农训 reports: the office's dashboard (server-rendered SVG charts, KPI
   table), the monthly report (每月一报) with the townships' written reports,
   the self-evaluation, programme settings and archive exports. */
(function () {
  'use strict';
  /* table.rows become cards below 480 px: the shell's CSS does it; until
     every shell has the rule, the same rule is added once here, for every
     feature's pages (all feature scripts load on every page). */
  (function rowsCSS() {
    if (document.getElementById('nx-rows-css')) return;
    var has = Array.prototype.some.call(document.styleSheets, function (sh) {
      try { return Array.prototype.some.call(sh.cssRules, function (r) { return String(r.cssText).indexOf('table.rows') >= 0; }); } catch (e) { return false; }
    });
    if (has) return;
    var st = document.createElement('style'); st.id = 'nx-rows-css';
    st.textContent = '@media (max-width:480px){table.rows thead{display:none}table.rows,table.rows tbody,table.rows tr,table.rows td{display:block;width:100%}table.rows tr{background:#fff;border-radius:8px;margin:.5rem 0;padding:.4rem .6rem;box-shadow:0 1px 2px rgba(0,0,0,.08)}table.rows td{border:0;padding:.15rem 0;display:flex;gap:.5rem}table.rows td::before{content:attr(data-label);flex:0 0 5.5em;color:#5c6a62}}';
    document.head.appendChild(st);
  })();
  var office = ['admin', 'officer', 'auditor'];
  var statusName = { met: '已达成', on_track: '按进度', behind: '落后', unknown: '暂无数据' };
  var statusTag = { met: 'good', on_track: 'warn', behind: 'bad', unknown: '' };
  var writtenName = { submitted: '按时报送', late: '逾期报送', missing: '未报送（已逾期）', pending: '未报送（未到期）' };
  var writtenTag = { submitted: 'good', late: 'warn', missing: 'bad', pending: '' };
  var chartTitle = {
    progress: '累计培训人次与目标进度', by_month: '每月培训人次', by_township: '各乡镇培训人次', by_group: '重点群体培训人次',
    funnel: '学员转化漏斗', growth: '网店销售额（元）', coverage: '服务站点覆盖率（%）', parcels: '包裹上行与下行', funds: '资金安排（万元）'
  };
  var missingName = { progress: '培训进度', certificates: '证书', conversion: '转化漏斗', growth: '销售增速', coverage: '站点覆盖', parcels: '物流包裹',
    funds: '资金', facilities: '站点设施', enterprises: '企业与品牌', written_reports: '书面月报' };
  var esc = NX.esc;

  function thisMonth() {
    var d = new Date(Date.now() + 8 * 3600e3);
    return d.toISOString().slice(0, 7);
  }
  function q(tid) { return tid ? 'township_id=' + encodeURIComponent(tid) : ''; }

  /* loads an authenticated SVG into an <img> through a blob URL (no script can run). */
  function loadChart(img, path) {
    return fetch('/api/v1' + path, { headers: { Authorization: 'Bearer ' + NX.token() } }).then(function (r) {
      if (!r.ok) throw new Error('图表加载失败（' + r.status + '）');
      return r.blob();
    }).then(function (b) {
      img.src = URL.createObjectURL(new Blob([b], { type: 'image/svg+xml' }));
      img.dataset.loaded = '1';
    }).catch(function (e) { img.alt = e.message; img.replaceWith(NX.h('<p class="error">' + esc(e.message) + '</p>')); });
  }

  function townshipPicker(sel) {
    if (NX.user.role === 'officer') return Promise.resolve('');
    return NX.get('/regions').then(function (rs) {
      var opts = '<option value="">全县</option>' + rs.filter(function (r) { return r.level === 'township'; })
        .map(function (r) { return '<option value="' + esc(r.id) + '"' + (r.id === sel ? ' selected' : '') + '>' + esc(r.name) + '</option>'; }).join('');
      return '<label class="small">范围<select id="rp-twp">' + opts + '</select></label>';
    });
  }

  function kpiTable(kpis) {
    return '<table class="rows" id="kpi-table"><thead><tr><th>指标</th><th>目标</th><th>实际</th><th>状态</th></tr></thead><tbody>' +
      kpis.map(function (k) {
        return '<tr><td data-label="指标"><div>' + esc(k.label) + (k.note ? '<div class="muted small">' + esc(k.note) + '</div>' : '') + '</div></td><td data-label="目标">' + esc(k.target_text) +
          '</td><td data-label="实际">' + esc(k.actual_text) + '</td><td data-label="状态"><span class="tag ' + (statusTag[k.status] || '') + '">' + esc(statusName[k.status] || '暂无数据') + '</span></td></tr>';
      }).join('') + '</tbody></table>';
  }
  function pctText(x) { return (Math.round(x * 1000) / 10) + '%'; }
  var setupStatus = { set: ['good', '已设置'], unset: ['bad', '未设置'], warn: ['warn', '需注意'] };

  /* what an admin has not set yet, as a short notice with a link to the checklist */
  function setupNotice(box) {
    if (!NX.user || NX.user.role !== 'admin') return;
    NX.get('/setup').then(function (s) {
      var left = s.items.filter(function (i) { return i.status !== 'set'; });
      if (!left.length) return;
      box.innerHTML = '<div class="card" style="border-left:4px solid #b3261e"><b>尚未完成的设置（' + left.length + ' 项）</b><ul class="small">' +
        left.map(function (i) { return '<li>' + esc(i.label) + '：' + esc(i.detail) + '</li>'; }).join('') + '</ul><a href="#/setup">去设置</a></div>';
    }).catch(function () {});
  }

  NX.view('dashboard', {
    title: '数据看板', roles: office, hint: '培训进度、转化、站点、物流与资金',
    render: function (el, args) {
      var tid = NX.user.role === 'officer' ? '' : (args[0] || '');
      return Promise.all([NX.get('/reports/dashboard?' + q(tid)), townshipPicker(tid)]).then(function (res) {
        var d = res[0], p = d.pace, w = Math.max(300, Math.min(el.clientWidth - 32, 960));
        var tiles = [
          ['培训人次', p.actual + ' / ' + p.target, statusName[p.status]],
          ['按期应达', p.expected_by_now, p.deadline_passed ? '截止日期已过' : '剩余 ' + p.days_left + ' 天'],
          ['今后每月需', p.needed_per_month || 0, '人次'],
          ['参训学员', d.trainees, '人（去重）'],
          ['颁发证书', d.certificates, '本']
        ];
        if (d.conversion) tiles.push(['开店学员', d.conversion.shop_opened, '人']);
        if (d.shops) tiles.push(['网店', d.shops, '家']);
        var tg = d.settings.targets || {};
        if (d.growth && d.growth.known) tiles.push(['销售增速', (d.growth.rate * 100).toFixed(1) + '%', '目标 ' + pctText(tg.sales_growth || 0.3)]);
        if (d.funds) tiles.push(['资金已支付', (d.funds.paid_fen / 1e6).toFixed(2), '万元，共 ' + (d.funds.total_fen / 1e6).toFixed(0) + ' 万元']);
        if (d.coverage) tiles.push(['村级覆盖', (d.coverage.ratio * 100).toFixed(1) + '%', '目标 ' + pctText(tg.village_coverage || 0.5)]);
        if (d.parcels) tiles.push(['上行/下行包裹', d.parcels.up + ' / ' + d.parcels.down, '件']);
        el.innerHTML = '<div id="setup-notice"></div><h1>数据看板 · ' + esc(d.township) + '</h1>' +
          '<div class="row">' + res[1] + '<p class="muted small">截止日期 ' + esc(d.settings.end_date) + ' · 更新于 ' + esc(NX.time(d.generated_at)) + '</p></div>' +
          '<div class="grid" id="kpi-tiles">' + tiles.map(function (t) { return '<div class="kpi"><b>' + esc(t[1]) + '</b>' + esc(t[0]) + '<div class="muted small">' + esc(t[2]) + '</div></div>'; }).join('') + '</div>' +
          '<h2>目标完成情况</h2>' + kpiTable(d.kpis) +
          (d.missing && d.missing.length ? '<p class="muted small">尚未接入：' + esc(d.missing.map(function (k) { return missingName[k] || k; }).join('、')) + '</p>' : '') +
          '<h2>图表</h2><div id="charts"></div>';
        setupNotice(el.querySelector('#setup-notice'));
        var box = el.querySelector('#charts');
        box.style.cssText = 'display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,440px),1fr));gap:.6rem';
        Object.keys(chartTitle).forEach(function (n) {
          if (tid && n === 'by_township') return;
          if (NX.user.role === 'officer' && n === 'by_township') return;
          var card = NX.h('<div class="card chart" style="margin:0"><h3 class="small">' + esc(chartTitle[n]) + '</h3><img class="chart-img" data-chart="' + n + '" alt="' + esc(chartTitle[n]) + '" style="width:100%;height:auto"></div>');
          box.appendChild(card);
          /* the server draws the chart at the card's own width, so its text stays readable */
          var cw = Math.max(280, Math.min(card.clientWidth - 32 || w, 960));
          loadChart(card.querySelector('img'), '/reports/charts/' + n + '?w=' + cw + (tid ? '&' + q(tid) : ''));
        });
        var s = el.querySelector('#rp-twp');
        if (s) s.addEventListener('change', function () { NX.go('#/dashboard/' + s.value); });
      });
    }
  });

  function writtenTable(l) {
    return '<table class="rows" id="written-table"><thead><tr><th>乡镇</th><th>状态</th><th>报送时间</th><th>附件</th></tr></thead><tbody>' +
      l.rows.map(function (r) {
        var link = r.status === 'submitted' || r.status === 'late' ? '<a href="#/monthly/' + esc(l.month) + '/' + esc(r.township_id) + '">' + esc(r.township) + '</a>' : esc(r.township);
        return '<tr><td data-label="乡镇">' + link + '</td><td data-label="状态"><span class="tag ' + (writtenTag[r.status] || '') + '">' + esc(writtenName[r.status] || '未报送') + '</span></td><td data-label="报送时间">' +
          esc(r.submitted_at ? NX.time(r.submitted_at) : '—') + '</td><td data-label="附件">' + (r.attachments ? r.attachments + ' 个' : '—') + '</td></tr>';
      }).join('') + '</tbody></table>';
  }

  function showWritten(el, month, tid) {
    return NX.get('/reports/written/' + month + '/' + tid).then(function (w) {
      el.innerHTML = '<h1>' + esc(w.township) + ' · ' + esc(month) + ' 月报</h1>' +
        '<p class="muted small">' + esc(w.submitter_name) + ' 于 ' + esc(NX.time(w.submitted_at)) + ' 报送' + (w.late ? ' <span class="tag warn">逾期</span>' : '') +
        (w.updated_at !== w.submitted_at ? '，' + esc(NX.time(w.updated_at)) + ' 修改' : '') + '</p>' +
        '<div class="card" style="white-space:pre-wrap">' + esc(w.text) + '</div>' +
        (w.attachments.length ? '<h2>附件</h2><ul>' + w.attachments.map(function (a) {
          return '<li><button class="link" data-n="' + a.n + '" data-name="' + esc(a.name) + '">' + esc(a.name) + '</button> <span class="muted small">' + Math.ceil(a.size / 1024) + ' KB</span></li>';
        }).join('') + '</ul>' : '') + '<p><a href="#/monthly/' + esc(month) + '">返回</a></p>';
      el.querySelectorAll('button[data-n]').forEach(function (b) {
        b.addEventListener('click', function () { NX.download('/reports/written/' + month + '/' + tid + '/attachments/' + b.dataset.n, b.dataset.name).catch(function (e) { alert(e.message); }); });
      });
    });
  }

  NX.view('monthly', {
    title: '每月一报', roles: office, hint: '月度统计表下载，乡镇书面月报报送与查看',
    render: function (el, args) {
      var month = /^\d{4}-\d{2}$/.test(args[0] || '') ? args[0] : thisMonth();
      if (args[1]) return showWritten(el, month, args[1]);
      return Promise.all([NX.get('/reports/monthly?month=' + month + '&format=json'), NX.get('/reports/written?month=' + month)]).then(function (res) {
        var m = res[0], l = res[1];
        var metrics = []; m.sections.forEach(function (s) { metrics = metrics.concat(s.metrics); });
        var cell = function (mt, v) { return mt.fen ? NX.yuan(v) : String(v || 0); };
        var canWrite = NX.user.role === 'officer';
        el.innerHTML = '<h1>每月一报</h1><div class="row"><label class="small">月份<input type="month" id="rp-month" value="' + esc(month) + '" max="' + thisMonth() + '"></label>' +
          '<button id="dl-xlsx">下载 Excel</button><button id="dl-csv">下载 CSV</button></div>' +
          (m.rows.length === 1
            /* one township (an officer): one line per figure, readable on a phone */
            ? '<table id="monthly-table"><thead><tr><th>' + esc(m.rows[0].township) + ' · ' + esc(month) + '</th><th></th></tr></thead><tbody>' +
              metrics.map(function (mt) { return '<tr><td>' + esc(mt.label) + '</td><td>' + cell(mt, m.rows[0].figures[mt.key]) + '</td></tr>'; }).join('') + '</tbody></table>'
            : '<div class="scroll"><table id="monthly-table" style="white-space:nowrap"><thead><tr><th>乡镇</th>' + metrics.map(function (mt) { return '<th>' + esc(mt.label) + '</th>'; }).join('') + '</tr></thead><tbody>' +
              m.rows.map(function (r) { return '<tr><td>' + esc(r.township) + '</td>' + metrics.map(function (mt) { return '<td>' + cell(mt, r.figures[mt.key]) + '</td>'; }).join('') + '</tr>'; }).join('') +
              '<tr><th>合计</th>' + metrics.map(function (mt) { return '<th>' + cell(mt, m.totals[mt.key]) + '</th>'; }).join('') + '</tr></tbody></table></div>') +
          '<h2>书面月报（每月 30 日前报送）</h2><p class="muted small">按时 ' + l.on_time + '，逾期 ' + l.late + '，共 ' + l.townships + ' 个乡镇</p>' + writtenTable(l) +
          (canWrite ? '<h2>报送本乡镇 ' + esc(month) + ' 月报</h2><form id="written-form"><label>进展情况<textarea name="text" rows="8" required maxlength="20000"></textarea></label>' +
            '<button type="submit" class="primary">提交月报</button><p class="error" role="alert"></p></form>' +
            '<form id="att-form"><label>附件（照片、文件，最多 10 个）<input type="file" name="file" required></label><progress value="0" max="1" hidden></progress>' +
            '<button type="submit">上传附件</button><p class="error" role="alert"></p></form>' : '');
        el.querySelector('#rp-month').addEventListener('change', function (e) { if (e.target.value) NX.go('#/monthly/' + e.target.value); });
        el.querySelector('#dl-xlsx').addEventListener('click', function () { NX.download('/reports/monthly?month=' + month + '&format=xlsx', '每月一报-' + month + '.xlsx').catch(function (e) { alert(e.message); }); });
        el.querySelector('#dl-csv').addEventListener('click', function () { NX.download('/reports/monthly?month=' + month + '&format=csv', '每月一报-' + month + '.csv').catch(function (e) { alert(e.message); }); });
        if (!canWrite) return;
        var own = l.rows[0];
        var wf = el.querySelector('#written-form');
        if (own && own.submitted_at) NX.get('/reports/written/' + month + '/' + own.township_id).then(function (w) { wf.text.value = w.text; }).catch(function () {});
        wf.addEventListener('submit', function (e) {
          e.preventDefault();
          var err = wf.querySelector('.error'); err.textContent = '';
          NX.api('PUT', '/reports/written/' + month, { text: wf.text.value }).then(function () { NX.route(); }).catch(function (x) { err.textContent = NX.errText(x); });
        });
        var af = el.querySelector('#att-form');
        af.addEventListener('submit', function (e) {
          e.preventDefault();
          var err = af.querySelector('.error'), bar = af.querySelector('progress'); err.textContent = ''; bar.hidden = false;
          var fd = new FormData(); fd.append('file', af.file.files[0]);
          NX.upload('/reports/written/' + month + '/attachments', fd, function (p) { bar.value = p; }).then(function () { NX.route(); })
            .catch(function (x) { err.textContent = NX.errText(x); bar.hidden = true; });
        });
      });
    }
  });

  NX.view('selfeval', {
    title: '绩效自评与归档', roles: ['admin', 'auditor', 'officer'], hint: '绩效自评表、归档导出、项目期限设置',
    render: function (el) {
      var county = NX.user.role !== 'officer';
      return NX.get('/reports/settings').then(function (s) {
        el.innerHTML = '<h1>绩效自评与归档</h1>' +
          (county ? '<h2>绩效自评</h2><p class="muted small">每项目标的完成情况及佐证材料（签到表照片、证书登记册、站点验收记录、资金台账）。</p>' +
            '<div class="row"><button data-dl="/reports/self-evaluation?format=xlsx" data-name="绩效自评.xlsx">下载 Excel</button><button data-dl="/reports/self-evaluation?format=pdf" data-name="绩效自评.pdf">下载 PDF（打印）</button></div>' : '') +
          '<h2>归档导出</h2><div class="row">' +
          '<button data-dl="/reports/exports/roster?format=xlsx" data-name="学员花名册.xlsx">学员花名册 Excel</button><button data-dl="/reports/exports/roster?format=csv" data-name="学员花名册.csv">学员花名册 CSV</button>' +
          (county ? '<button data-dl="/certificates/register?format=xlsx" data-name="证书登记册.xlsx">证书登记册 Excel</button><button data-dl="/certificates/register?format=csv" data-name="证书登记册.csv">证书登记册 CSV</button>' +
            '<button data-dl="/reports/exports/ledger?format=xlsx" data-name="资金台账.xlsx">资金台账 Excel</button><button data-dl="/reports/exports/ledger?format=csv" data-name="资金台账.csv">资金台账 CSV</button>' : '') +
          '</div><p class="muted small">逐场签到表（PDF）在培训场次页面打印；也可输入场次编号：</p><form id="sheet-form" class="row"><input name="id" placeholder="场次编号" pattern="[0-9a-f]{24}" required><button type="submit">打印签到表</button></form>' +
          '<p class="error" id="dl-err" role="alert"></p>' +
          '<h2>项目期限</h2><p class="muted small">看板按此期限计算进度' + (s.period_set_by ? '。' : '；当前为默认值（今年全年），请按实施方案确认。') + '</p>' +
          '<form id="settings-form"><div class="row"><label>开始日期<input type="date" name="start_date" value="' + esc(s.start_date) + '"></label><label>截止日期<input type="date" name="end_date" value="' + esc(s.end_date) + '"></label>' +
          '<label>培训人次目标<input type="number" name="person_times_target" min="1" value="' + s.person_times_target + '"></label></div>' +
          '<label>项目名称<input name="programme" value="' + esc(s.programme) + '"></label><label>公开简介<textarea name="summary" rows="3">' + esc(s.summary) + '</textarea></label>' +
          (NX.user.role === 'admin' ? '<button type="submit" class="primary">保存</button>' : '') + '<p class="error" role="alert"></p></form>' +
          '<p><a href="/public" target="_blank" rel="noopener">查看政务公开页</a></p>';
        var err = el.querySelector('#dl-err');
        el.querySelectorAll('button[data-dl]').forEach(function (b) {
          b.addEventListener('click', function () { err.textContent = ''; b.disabled = true; NX.download(b.dataset.dl, b.dataset.name).catch(function (e) { err.textContent = e.message; }).then(function () { b.disabled = false; }); });
        });
        el.querySelector('#sheet-form').addEventListener('submit', function (e) {
          e.preventDefault(); err.textContent = '';
          NX.download('/reports/exports/signin/' + e.target.id.value, '签到表.pdf').catch(function (x) { err.textContent = x.message; });
        });
        var sf = el.querySelector('#settings-form');
        sf.addEventListener('submit', function (e) {
          e.preventDefault();
          var out = sf.querySelector('.error'); out.textContent = '';
          NX.api('PUT', '/reports/settings', NX.form(sf)).then(function () { out.className = 'ok'; out.textContent = '已保存'; }).catch(function (x) { out.className = 'error'; out.textContent = NX.errText(x); });
        });
      });
    }
  });
  /* First-run setup: what the platform still needs before the public, the
     certificates and the dashboard can be trusted. */
  NX.view('setup', {
    title: '初始设置', roles: ['admin'], hint: '对外地址、项目期限、发证单位、印章、目标值',
    render: function (el) {
      return Promise.all([NX.get('/setup'), NX.get('/reports/settings')]).then(function (r) {
        var st = r[0], s = r[1], tg = s.targets || {};
        try { localStorage.setItem('nx.setup.seen.' + NX.user.id, '1'); } catch (e) { /* private mode */ }
        var how = {
          public_url: '在启动参数中设置 PUBLIC_URL 为学员和公众能访问的地址（例如 https://nx.example.gov.cn），然后重启服务。',
          issuer: '在启动参数中设置 CERT_ISSUER（证书上的发证单位全称），然后重启服务。',
          seal: '在「证书」页面上传发证单位的印章图片（PNG，透明背景）。'
        };
        el.innerHTML = '<h1>初始设置</h1><p class="muted small">' + (st.unset ? '还有 ' + st.unset + ' 项需要处理。' : '全部设置完成。') + '</p>' +
          '<table class="rows" id="setup-table"><thead><tr><th>项目</th><th>状态</th><th>当前</th></tr></thead><tbody>' +
          st.items.map(function (i) {
            var t = setupStatus[i.status] || ['', '未设置'];
            return '<tr id="setup-' + esc(i.key) + '"><td data-label="项目"><b>' + esc(i.label) + '</b></td><td data-label="状态"><span class="tag ' + t[0] + '">' + t[1] + '</span></td>' +
              '<td data-label="当前"><div>' + esc(i.detail) + (how[i.key] && i.status !== 'set' ? '<div class="muted small">' + esc(how[i.key]) + '</div>' : '') + '</div></td></tr>';
          }).join('') + '</tbody></table>' +
          '<h2>项目期限与培训目标</h2><form id="setup-form"><div class="row">' +
          '<label>开始日期<input type="date" name="start_date" value="' + esc(s.start_date) + '" min="2000-01-01" max="2100-12-31" required></label>' +
          '<label>截止日期<input type="date" name="end_date" value="' + esc(s.end_date) + '" min="2000-01-01" max="2100-12-31" required></label>' +
          '<label>培训人次目标<input type="number" name="person_times_target" min="1" value="' + (s.person_times_target || 10000) + '" required></label></div>' +
          '<p class="muted small">其他目标按实施方案：村级服务点 ' + (tg.village_points || 190) + ' 个，行政村与贫困村覆盖率 ' + pctText(tg.village_coverage || 0.5) + '，龙头企业不少于 ' + (tg.enterprises_min || 3) +
          ' 户，地方品牌不少于 ' + (tg.brands_min || 2) + ' 个，销售增速 ' + pctText(tg.sales_growth || 0.3) + '。</p>' +
          '<button type="submit" class="primary">确认并保存</button><p class="error" role="alert"></p></form>' +
          '<p><a href="#/dashboard">去数据看板</a></p>';
        var f = el.querySelector('#setup-form');
        f.addEventListener('submit', function (e) {
          e.preventDefault();
          var out = f.querySelector('[role=alert]'); out.className = 'error'; out.textContent = '';
          NX.api('PUT', '/reports/settings', NX.form(f)).then(function () { NX.route(); }).catch(function (x) { out.textContent = NX.errText(x); });
        });
      });
    }
  });

  /* An admin's first sign-in opens the setup checklist while something is unset. */
  function firstRun() {
    var app = document.getElementById('app');
    if (!app) return;
    var check = function () {
      var u = NX.user;
      if (app.hidden || !u || u.role !== 'admin') return;
      var key = 'nx.setup.seen.' + u.id;
      try { if (localStorage.getItem(key)) return; } catch (e) { return; }
      NX.get('/setup').then(function (s) {
        if (!s.unset) { localStorage.setItem(key, '1'); return; }
        /* only from the start page: a page the admin opened themselves stays open */
        if (!location.hash || location.hash === '#/' || location.hash === '#/home') NX.go('#/setup');
      }).catch(function () {});
    };
    new MutationObserver(check).observe(app, { attributes: true, attributeFilter: ['hidden'] });
    check();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', firstRun); else firstRun();
})();
