/* 资金：汇总（比例对照规则）、分期拨付节点、站点补助、台账（冲销、附件）、新增分录。
   管理员可写；审计只读。 */
(function () {
  'use strict';
  var CAT = { upward: '农产品上行', public_service: '公共服务体系', training: '培训', other: '其他' };
  var KIND = { allocation: '预算安排', payment: '付款', reversal: '冲销' };
  var USES = {
    upward: [['standards', '标准化'], ['certification', '生产认证'], ['branding', '品牌培育'], ['traceability', '质量追溯'], ['grading', '分级'], ['packing', '包装'], ['precooling', '预冷'], ['processing', '初加工'], ['logistics', '三级物流配送']],
    public_service: [['service_center', '县级公共服务中心'], ['township_station', '乡镇服务站'], ['village_point', '村级服务点']],
    training: [['training', '电商培训'], ['incubation', '孵化与转化支持']],
    other: [['evaluation', '第三方绩效评价'], ['other', '其他']]
  };
  var useName = { station_subsidy: '站点建设补助', cold_chain: '冷链物流' };
  Object.keys(USES).forEach(function (c) { USES[c].forEach(function (u) { useName[u[0]] = u[1]; }); });
  var esc = NX.esc, yuan = NX.yuan;
  function pct(x) { return (Number(x || 0) * 100).toFixed(1) + '%'; }
  function tag(ok, yes, no) { return '<span class="tag ' + (ok ? 'good">' + (yes || '符合') : 'bad">' + (no || '不符合')) + '</span>'; }
  function admin() { return NX.user && NX.user.role === 'admin'; }
  /* Refusals carry their rule's code in error.rule for programs; people read the message, which names the rule in Chinese. */
  function err(el, x) { el.innerHTML = '<p class="error">' + esc(NX.errText(x)) + '</p>'; }
  function td(label, html) { return '<td data-label="' + esc(label) + '">' + html + '</td>'; }
  function useLabel(u) { return useName[u] || '其他用途'; }

  function summaryHTML(s) {
    var big = function (fen, label) { return '<div class="kpi"><b style="font-size:1.1rem;white-space:nowrap">' + yuan(fen) + '</b>' + label + '</div>'; };
    var h = '<div class="grid">' + big(s.total_fen, '资金总额（元）') + big(s.allocated_fen, '已安排（元）') +
      big(s.paid_fen, '已支付（元）') + big(s.unallocated_fen, '未安排（元）') + '</div>';
    h += '<h2>按类别</h2><table class="rows"><thead><tr><th>类别</th><th>已安排（元）</th><th>占总额</th><th>已支付（元）</th></tr></thead><tbody>' +
      Object.keys(CAT).map(function (c) {
        var x = s.by_category[c] || {};
        return '<tr>' + td('类别', CAT[c]) + td('已安排（元）', yuan(x.allocated_fen)) + td('占总额', pct(x.ratio)) + td('已支付（元）', yuan(x.paid_fen)) + '</tr>';
      }).join('') + '</tbody></table>';
    h += '<h2>资金规则</h2><div class="card">' + s.rules.map(function (r) {
      var fig = r.limit_fen ? '<br><span class="small muted">' + yuan(r.value_fen) + ' / 上限 ' + yuan(r.limit_fen) + (r.limit_ratio ? '（' + pct(r.ratio) + '，上限 ' + pct(r.limit_ratio) + '）' : '') + '</span>' : '';
      return '<p>' + tag(r.ok) + ' ' + esc(r.name) + fig + (r.detail ? '<br><span class="small muted">' + esc(r.detail) + '</span>' : '') + '</p>';
    }).join('') + '</div>';
    h += '<h2>承办企业分期拨付</h2><table class="rows"><thead><tr><th>期</th><th>节点</th><th>比例</th><th>额度（元）</th><th>已支付（元）</th></tr></thead><tbody>' +
      s.tranches.map(function (t) {
        return '<tr>' + td('期', '第 ' + t.tranche + ' 期') + td('节点', esc(t.gate_name) + '<br>' + (t.open ? tag(true, '已达成 ' + NX.date(t.gate_at)) : tag(false, '', '未达成'))) +
          td('比例', t.share_pct + '%') + td('额度（元）', yuan(t.cap_fen)) + td('已支付（元）', yuan(t.paid_fen)) + '</tr>';
      }).join('') + '</tbody></table>';
    var sb = s.subsidies || {};
    h += '<h2>站点建设补助</h2><div class="grid">' + big(sb.owed_fen, '应付未付（' + (sb.owed_count || 0) + ' 个站点，元）') +
      big(sb.ledger_paid_fen, '已支付（记入台账，元）') + '</div>' +
      (sb.paid_fen !== sb.ledger_paid_fen ? '<p class="small muted">站点登记为已付 ' + yuan(sb.paid_fen) + ' 元（' + (sb.paid_count || 0) + ' 个站点），与台账不一致的部分请核对。</p>' : '');
    return h;
  }

  function gateForm(gates) {
    var next = gates.filter(function (g) { return !g.recorded; })[0];
    if (!next) return '<p class="muted">四个拨付节点均已登记。</p>';
    return '<form class="card" id="fx-gate"><b>登记下一节点：' + esc(next.name) + '</b><input type="hidden" name="gate" value="' + esc(next.gate) + '">' +
      '<label>达成日期<input type="date" name="at" required></label><label>说明<input name="note" maxlength="500"></label>' +
      '<button class="primary">登记节点</button><div class="msg"></div></form>';
  }

  function subsidyForm(list) {
    var owed = list.filter(function (x) { return !x.paid; });
    if (!owed.length) return '<p class="muted">暂无应付未付的站点补助。</p>';
    return '<form class="card" id="fx-sub"><b>支付站点补助</b><label>站点<select name="station_id" required>' + owed.map(function (x) {
      return '<option value="' + esc(x.station_id) + '">' + esc(x.name || '（未命名站点）') + '（' + yuan(x.amount_fen) + ' 元）</option>';
    }).join('') + '</select></label><label>审批人<input name="approver" maxlength="200"></label><button class="primary">支付（记入台账）</button><div class="msg"></div></form>';
  }

  function entryForm() {
    return '<form class="card" id="fx-new"><b>新增分录</b>' +
      '<div class="row"><label>类型<select name="kind"><option value="allocation">预算安排</option><option value="payment">付款</option></select></label>' +
      '<label>类别<select name="category">' + Object.keys(CAT).map(function (c) { return '<option value="' + c + '">' + CAT[c] + '</option>'; }).join('') + '</select></label></div>' +
      '<div class="row"><label>用途<select name="use"></select></label><label>金额（元）<input name="amount" type="number" min="0.01" step="0.01" required></label></div>' +
      '<label>用途说明<input name="purpose" required maxlength="500"></label>' +
      '<div class="row"><label>收款方<input name="payee" maxlength="200"></label><label>合同<input name="contract" maxlength="200"></label></div>' +
      '<div class="row"><label>审批人<input name="approver" maxlength="200"></label><label>日期<input name="at" type="date"></label></div>' +
      '<label>分期（承办企业付款）<select name="tranche"><option value="">不属于分期拨付</option><option value="1">第 1 期 30%</option><option value="2">第 2 期 30%</option><option value="3">第 3 期 30%</option><option value="4">第 4 期 10%</option></select></label>' +
      '<p class="small muted">不得用于网络交易平台建设、楼堂馆所建设、工作经费、购买流量。</p>' +
      '<button class="primary">提交</button><div class="msg"></div></form>';
  }

  var seqOf = {};
  function ledgerRow(e) {
    seqOf[e.id] = e.seq;
    var amt = (e.kind === 'reversal' ? '−' : '') + yuan(e.amount_fen);
    var small = function (label, v) { return v ? '<br><span class="small muted">' + label + esc(v) + '</span>' : ''; };
    var ev = (e.evidence || []).map(function (x) { return '<br><button class="link small fx-ev" data-id="' + esc(x.id) + '" data-name="' + esc(x.name) + '">凭证：' + esc(x.name) + '</button>'; }).join('');
    var acts = '';
    if (admin()) {
      if (e.kind !== 'reversal' && !e.reversed_by && e.use !== 'station_subsidy') acts += '<button class="fx-rev small" data-id="' + e.id + '" data-amt="' + e.amount_fen + '">冲销</button> ';
      acts += '<label class="small" style="display:inline"><span class="tag">＋凭证</span><input type="file" class="fx-up" data-id="' + e.id + '" style="display:none"></label>';
    }
    var kind = e.kind !== 'payment' ? KIND[e.kind] : e.status === 'pending' ? '付款（待审批）' : '已支付';
    return '<tr>' + td('分录', '第 ' + e.seq + ' 号<br><span class="small muted">' + NX.date(e.at) + '</span><br>' + kind + (e.tranche ? '<br>第 ' + e.tranche + ' 期' : '') +
      (e.reversed_by ? '<br><span class="tag warn">已冲销</span>' : '')) +
      td('金额（元）', '<b>' + amt + '</b><br>' + (CAT[e.category] || '') + '<br><span class="small">' + esc(useLabel(e.use)) + '</span>') +
      td('说明与凭证', esc(e.purpose) + small('收款方：', e.payee) + small('合同：', e.contract) + small('审批：', e.approver) + small('录入：', e.by_name) +
        (e.reverses ? small('冲销：', seqOf[e.reverses] ? '第 ' + seqOf[e.reverses] + ' 号分录' : '一笔较早的分录') : '') + ev + (acts ? '<p style="margin:.3rem 0 0">' + acts + '</p>' : '')) + '</tr>';
  }

  function msg(form, text, bad) { var m = form.querySelector('.msg'); m.className = 'msg ' + (bad ? 'error' : 'ok'); m.textContent = text; }
  function submit(form, fn) {
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var b = form.querySelector('button'); b.disabled = true;
      Promise.resolve().then(fn).catch(function (x) { msg(form, NX.errText(x), true); }).then(function () { b.disabled = false; });
    });
  }

  NX.view('funds', {
    title: '资金', roles: ['admin', 'auditor'], hint: '资金汇总、规则、分期拨付与台账',
    render: function (el) {
      var filt = { kind: '', category: '' };
      return Promise.all([NX.get('/funds/summary'), NX.get('/funds/gates'), NX.get('/funds/subsidies')]).then(function (r) {
        var s = r[0], gates = r[1].items, subs = r[2].items;
        el.innerHTML = '<h1>资金</h1>' + summaryHTML(s) +
          (admin() ? '<h2>拨付节点</h2>' + gateForm(gates) + '<h2>补助支付</h2>' + subsidyForm(subs) + '<h2>登记</h2>' + entryForm() : '<p class="muted">审计只读：可查阅汇总与台账，不能登记。</p>') +
          '<h2>资金台账</h2><div class="row"><label>类型<select id="fx-fk"><option value="">全部</option><option value="allocation">预算安排</option><option value="payment">付款</option><option value="reversal">冲销</option></select></label>' +
          '<label>类别<select id="fx-fc"><option value="">全部</option>' + Object.keys(CAT).map(function (c) { return '<option value="' + c + '">' + CAT[c] + '</option>'; }).join('') + '</select></label></div>' +
          '<table class="rows"><thead><tr><th>分录</th><th>金额（元）</th><th>说明与凭证</th></tr></thead><tbody id="fx-rows"></tbody></table>' +
          '<p class="small muted" id="fx-none" hidden>这一段没有符合条件的分录。</p><p><button id="fx-more" hidden>加载更早的分录</button></p><div id="fx-err"></div>';
        var rows = el.querySelector('#fx-rows'), more = el.querySelector('#fx-more'), next = 0;
        function load(reset) {
          if (reset) { rows.innerHTML = ''; next = 0; }
          var q = '?limit=50' + (filt.kind ? '&kind=' + filt.kind : '') + (filt.category ? '&category=' + filt.category : '') + (next ? '&before=' + next : '');
          return NX.get('/funds/ledger' + q).then(function (d) {
            d.items.forEach(function (e) { seqOf[e.id] = e.seq; });
            rows.insertAdjacentHTML('beforeend', d.items.map(ledgerRow).join('') || (reset && !d.next_before ? '<tr><td colspan="3" class="muted">暂无分录</td></tr>' : ''));
            next = d.next_before || 0; more.hidden = !next;
            // a filtered page reads a bounded part of the ledger: it may hold fewer entries, then more follow
            el.querySelector('#fx-none').hidden = !(next && !d.items.length);
          }).catch(function (x) { err(el.querySelector('#fx-err'), x); });
        }
        el.querySelector('#fx-fk').onchange = function (e) { filt.kind = e.target.value; load(true); };
        el.querySelector('#fx-fc').onchange = function (e) { filt.category = e.target.value; load(true); };
        more.onclick = function () { load(false); };
        rows.addEventListener('click', function (e) {
          var t = e.target;
          if (t.classList.contains('fx-ev')) NX.download('/funds/evidence/' + t.dataset.id + '?download=1', t.dataset.name).catch(function (x) { alert(NX.errText(x)); });
          if (t.classList.contains('fx-rev')) {
            var why = prompt('冲销原因（必填）：'); if (!why) return;
            var a = prompt('冲销金额（元），留空为全额 ' + yuan(t.dataset.amt) + ' 元：', '');
            var body = { kind: 'reversal', reverses: t.dataset.id, purpose: why };
            if (a) body.amount_fen = Math.round(Number(a) * 100);
            NX.post('/funds/entries', body).then(function () { NX.route(); }).catch(function (x) { alert(NX.errText(x)); });
          }
        });
        rows.addEventListener('change', function (e) {
          var t = e.target; if (!t.classList.contains('fx-up') || !t.files[0]) return;
          var fd = new FormData(); fd.append('file', t.files[0]);
          NX.upload('/funds/entries/' + t.dataset.id + '/evidence', fd).then(function () { NX.route(); }).catch(function (x) { alert(NX.errText(x)); });
        });
        load(true);
        if (!admin()) return;
        var gf = el.querySelector('#fx-gate');
        if (gf) submit(gf, function () { return NX.post('/funds/gates', NX.form(gf)).then(function () { NX.route(); }); });
        var sf = el.querySelector('#fx-sub');
        if (sf) submit(sf, function () { return NX.post('/funds/subsidies', NX.form(sf)).then(function () { NX.route(); }); });
        var nf = el.querySelector('#fx-new'), cat = nf.elements.category, use = nf.elements.use;
        function uses() { use.innerHTML = USES[cat.value].map(function (u) { return '<option value="' + u[0] + '">' + u[1] + '</option>'; }).join(''); }
        cat.onchange = uses; uses();
        submit(nf, function () {
          var b = NX.form(nf);
          b.amount_fen = Math.round(Number(b.amount || 0) * 100); delete b.amount;
          if (b.tranche) b.tranche = Number(b.tranche);
          return NX.post('/funds/entries', b).then(function (e) { msg(nf, '已登记第 ' + e.seq + ' 号分录'); setTimeout(NX.route, 600); });
        });
      });
    }
  });
})();
