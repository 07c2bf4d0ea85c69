/* 培训后跟踪与孵化：我的回访任务（到期/逾期）与回访记录；网店登记与月销售填报；
   转化漏斗（每一环节背后的名单）；孵化批次、里程碑、结业；龙头企业、地方品牌、县域产品名录。 */
(function () {
  'use strict';
  /* table.rows become cards below 480 px (the shell's rule, or reports.js's fallback for it). */
  var esc = NX.esc, yuan = NX.yuan;
  var PLATFORMS = { taobao: '淘宝', tmall: '天猫', jd: '京东', pinduoduo: '拼多多', douyin: '抖音', kuaishou: '快手', wechat: '微信', own: '自建平台', other: '其他' };
  var METHODS = { phone: '电话', visit: '走访', wechat: '微信' };
  var STATUS = { active: ['good', '经营中'], dormant: ['warn', '休眠'], closed: ['bad', '已关闭'] };
  var STEPS = [['trained', '参训'], ['certified', '取得证书'], ['followed_up', '已回访'], ['shop_opened', '开设网店'], ['selling', '近三月有销售'], ['incubated', '入孵']];
  var GROUPS = { poverty: '建档立卡贫困户', woman: '妇女', youth: '青年', returnee_graduate: '返乡大学生', returnee_worker: '返乡农民工', veteran: '退役军人', disabled: '残疾人' };
  var OBSTACLES = ['缺少货源', '不会运营', '物流成本高', '缺少资金', '没有时间', '网络不好'];
  var HELP = ['开店指导', '美工设计', '产品包装', '物流对接', '贷款政策', '直播带货'];
  var MILESTONES = { licence: '取得营业执照', first_order: '首笔订单', orders_100: '累计 100 单', revenue_line: '月销售额达标' };
  var CERTS = { geographical_indication: '地理标志', pollution_free: '无公害', green: '绿色食品', organic: '有机', sc: 'SC 认证' };

  function role() { return NX.user && NX.user.role; }
  function is() { return Array.prototype.indexOf.call(arguments, role()) >= 0; }
  function err(x) { return '<p class="error">' + esc(NX.errText(x)) + '</p>'; }
  function pct(x) { return x == null ? '—' : (x * 100).toFixed(1) + '%'; }
  function tag(cls, text) { return '<span class="tag ' + cls + '">' + esc(text) + '</span>'; }
  function today() { return new Date(Date.now() + 8 * 3600e3).toISOString().slice(0, 10); }
  function thisMonth() { return today().slice(0, 7); }
  function nowLocal() { var d = new Date(); d.setMinutes(d.getMinutes() - d.getTimezoneOffset()); return d.toISOString().slice(0, 16); }
  function checks(name, list) {
    return '<div class="row">' + list.map(function (x) {
      return '<label class="small"><input type="checkbox" data-list="1" name="' + name + '" value="' + esc(x) + '">' + esc(x) + '</label>';
    }).join('') + '</div>';
  }
  /* rowsTable: a table that the shell turns into cards below 480 px (each cell labelled). */
  function rowsTable(heads, rows) {
    return '<table class="rows"><thead><tr>' + heads.map(function (h) { return '<th>' + esc(h) + '</th>'; }).join('') + '</tr></thead><tbody>' +
      rows.map(function (r) { return '<tr>' + r.map(function (c, i) { return '<td data-label="' + esc(heads[i] || '') + '"><div>' + c + '</div></td>'; }).join('') + '</tr>'; }).join('') + '</tbody></table>';
  }
  function options(map, sel) {
    return Object.keys(map).map(function (k) { return '<option value="' + k + '"' + (k === sel ? ' selected' : '') + '>' + esc(map[k]) + '</option>'; }).join('');
  }
  /* submit wires a form: body(form) → promise; shows errors in .msg. */
  function submit(form, body, done) {
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      var msg = form.querySelector('.msg'), btn = form.querySelector('button.primary');
      msg.className = 'msg'; msg.textContent = ''; btn.disabled = true;
      Promise.resolve().then(function () { return body(NX.form(form)); }).then(function (r) { done(r, msg); })
        .catch(function (x) { msg.className = 'msg error'; msg.textContent = NX.errText(x); })
        .then(function () { btn.disabled = false; });
    });
  }
  var regionCache = null;
  function names() {
    if (!regionCache) regionCache = NX.get('/regions').then(function (list) {
      var m = {}; (list || []).forEach(function (r) { m[r.id] = r.name; }); return m;
    }).catch(function () { regionCache = null; return {}; });
    return regionCache;
  }

  /* ---------- 回访任务 ---------- */
  function taskForm(t) {
    return '<form class="card fu-form" data-trainee="' + esc(t.trainee_id) + '" data-task="' + esc(t.id || '') + '">' +
      '<b>记录回访：' + esc(t.trainee_name) + '</b>' +
      '<div class="row"><label>联系时间<input type="datetime-local" name="contacted_at" value="' + nowLocal() + '" required></label>' +
      '<label>方式<select name="method">' + options(METHODS) + '</select></label></div>' +
      '<label><input type="checkbox" name="shop_opened">已开设网店</label>' +
      '<p class="small muted">遇到的困难</p>' + checks('obstacles', OBSTACLES) +
      '<p class="small muted">希望得到的帮助</p>' + checks('help_wanted', HELP) +
      '<label>备注<textarea name="note" rows="2" maxlength="2000"></textarea></label>' +
      '<label><input type="checkbox" name="done" checked>已联系上，完成本次回访</label>' +
      '<button class="primary">保存回访</button><div class="msg"></div></form>';
  }
  function wireTaskForms(el, reload) {
    el.querySelectorAll('.fu-form').forEach(function (f) {
      submit(f, function (b) {
        b.trainee_id = f.dataset.trainee;
        if (f.dataset.task) b.task_id = f.dataset.task;
        return NX.post('/followups', b);
      }, function (r, msg) {
        msg.className = 'msg ok'; msg.textContent = '已保存。' + (r && r.shop_opened ? '请在「网店」中登记该学员的网店。' : '');
        setTimeout(reload, 800);
      });
    });
  }

  NX.view('followups', {
    title: '回访任务', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '到期和逾期的培训后回访',
    render: function (el, args) {
      var scope = args[0] === 'all' ? 'all' : 'mine';
      var canAll = !is('trainer');
      return Promise.all([NX.get('/followups/tasks?scope=' + scope), names()]).then(function (r) {
        var tasks = r[0].tasks, nm = r[1];
        var h = '<h1>回访任务</h1>';
        if (canAll) h += '<div class="menu"><a href="#/followups"' + (scope === 'mine' ? ' class="on"' : '') + '>我的</a><a href="#/followups/all"' + (scope === 'all' ? ' class="on"' : '') + '>' + (is('officer') ? '本乡镇全部' : '全部') + '</a></div>';
        h += '<p class="muted small">显示已逾期和 7 天内到期的回访（今天 ' + esc(r[0].today) + '）' + (is('officer') && scope === 'mine' ? '，包括分给本乡镇联络员的' : '') + '。</p>';
        if (!tasks.length) h += '<p>暂无到期的回访任务。</p>';
        h += tasks.map(function (t) {
          return '<div class="card"><div class="row"><div><b>' + esc(t.trainee_name) + '</b> ' + (t.overdue ? tag('bad', '逾期') : tag('warn', '待回访')) +
            '<br><span class="small muted">结业后第 ' + t.days + ' 天 · 应于 ' + esc(t.due_on) + ' · ' + esc(nm[t.township_id] || '') +
            (t.attempts ? ' · 已尝试 ' + t.attempts + ' 次' : '') + (t.assignee_id ? '' : ' · 由乡镇联络员回访') + '</span></div>' +
            (t.phone ? '<a href="tel:' + esc(t.phone) + '">📞 ' + esc(t.phone) + '</a>' : '') +
            (is('auditor') ? '' : '<button class="fu-open" data-id="' + esc(t.id) + '">记录回访</button>') + '</div>' +
            '<div class="fu-slot" data-id="' + esc(t.id) + '"></div></div>';
        }).join('');
        el.innerHTML = h;
        el.querySelectorAll('.fu-open').forEach(function (b) {
          b.addEventListener('click', function () {
            var t = tasks.filter(function (x) { return x.id === b.dataset.id; })[0];
            var slot = el.querySelector('.fu-slot[data-id="' + CSS.escape(t.id) + '"]');
            slot.innerHTML = taskForm(t); b.hidden = true;
            wireTaskForms(slot, function () { NX.route(); });
          });
        });
      });
    }
  });

  /* ---------- 网店 ---------- */
  function traineePicker() {
    if (is('trainee')) return '';
    return '<label>学员（输入姓名或手机号查找）<input class="tp-q" autocomplete="off"></label><select name="trainee_id" class="tp-sel" required><option value="">请先查找学员</option></select>';
  }
  function wirePicker(form) {
    var q = form.querySelector('.tp-q'), sel = form.querySelector('.tp-sel'), timer;
    if (!q) return;
    q.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        if (!q.value.trim()) return;
        NX.get('/trainees?limit=20&q=' + encodeURIComponent(q.value.trim())).then(function (r) {
          var items = r.items || [];
          sel.innerHTML = items.length ? items.map(function (t) { return '<option value="' + esc(t.id) + '">' + esc(t.name) + ' ' + esc(t.phone || '') + '</option>'; }).join('') : '<option value="">未找到</option>';
        }).catch(function () {});
      }, 300);
    });
  }
  function shopForm() {
    return '<form class="card" id="shop-new"><b>登记网店</b>' + traineePicker() +
      '<div class="row"><label>平台<select name="platform">' + options(PLATFORMS) + '</select></label><label>开店日期<input type="date" name="opened_on" value="' + today() + '" required></label></div>' +
      '<label>店铺名称<input name="name" required maxlength="100"></label>' +
      '<label>店铺网址<input name="url" type="url" required placeholder="https://" maxlength="500"></label>' +
      '<label>合作社（可选）<input name="cooperative" maxlength="100"></label>' +
      '<label>主营产品<input name="main_products" maxlength="200" placeholder="如：石榴、核桃"></label>' +
      '<button class="primary">登记</button><div class="msg"></div></form>';
  }
  function shopRow(s, nm) {
    var st = STATUS[s.status] || ['', '—'];
    return ['<a href="#/shop/' + esc(s.id) + '">' + esc(s.name) + '</a><br><span class="small muted">' + esc(PLATFORMS[s.platform] || '其他') + '</span>',
      esc(s.trainee_name) + '<br><span class="small muted">' + esc(nm[s.township_id] || '') + '</span>',
      tag(st[0], st[1]) + (s.last_sale_month ? '<br><span class="small muted">最近销售 ' + esc(s.last_sale_month) + '</span>' : '')];
  }
  NX.view('shops', {
    title: '网店', roles: ['admin', 'officer', 'trainer', 'auditor', 'trainee'], hint: '学员网店登记与月销售填报',
    render: function (el) {
      return Promise.all([NX.get('/shops'), names()]).then(function (r) {
        var shops = r[0].shops, nm = r[1];
        var h = '<h1>' + (is('trainee') ? '我的网店' : '网店') + '</h1>';
        h += shops.length ? rowsTable(['店铺', '学员', '状态'], shops.map(function (s) { return shopRow(s, nm); })) : '<p class="muted">还没有登记的网店。</p>';
        if (!is('auditor')) h += shopForm();
        el.innerHTML = h;
        var f = el.querySelector('#shop-new');
        if (!f) return;
        wirePicker(f);
        submit(f, function (b) { return NX.post('/shops', b); }, function (s) { NX.go('#/shop/' + s.id); });
      });
    }
  });

  function growthHTML(g) {
    var l = g || {};
    return '<div class="grid"><div class="kpi"><b>' + yuan(l.revenue_fen) + '</b>' + esc(l.month || '') + ' 销售额（元）</div>' +
      '<div class="kpi"><b>' + pct(l.mom) + '</b>环比</div><div class="kpi"><b>' + pct(l.yoy) + '</b>同比</div>' +
      '<div class="kpi"><b>' + pct(l.ytd_growth) + '</b>年内累计增速 ' + (l.meets_target == null ? '' : l.meets_target ? tag('good', '达到 30%') : tag('bad', '未达 30%')) + '</div></div>';
  }
  function bars(months) {
    var max = 1; (months || []).forEach(function (m) { max = Math.max(max, m.revenue_fen); });
    var w = 22, h = 90;
    return '<svg viewBox="0 0 ' + (months.length * w) + ' ' + (h + 16) + '" role="img" aria-label="月销售额">' + months.map(function (m, i) {
      var bh = Math.round(m.revenue_fen / max * h);
      return '<rect x="' + (i * w + 3) + '" y="' + (h - bh) + '" width="' + (w - 6) + '" height="' + bh + '" fill="#1f6f43"><title>' + esc(m.month) + '：' + yuan(m.revenue_fen) + ' 元</title></rect>' +
        '<text x="' + (i * w + w / 2) + '" y="' + (h + 12) + '" font-size="8" text-anchor="middle">' + esc(m.month.slice(5)) + '</text>';
    }).join('') + '</svg>';
  }
  NX.view('shop', {
    title: '网店详情', menu: false, roles: ['admin', 'officer', 'trainer', 'auditor', 'trainee'],
    render: function (el, args) {
      var id = args[0];
      return Promise.all([NX.get('/shops/' + encodeURIComponent(id)), NX.get('/shops/' + encodeURIComponent(id) + '/sales'), names()]).then(function (r) {
        var s = r[0].shop, g = r[0].growth, cur = r[1].sales, hist = r[1].history, nm = r[2];
        var st = STATUS[s.status] || ['', s.status];
        var h = '<p><a href="#/shops">← 网店</a></p><h1>' + esc(s.name) + ' ' + tag(st[0], st[1]) + '</h1>' +
          '<div class="card small">' + esc(PLATFORMS[s.platform]) + ' · <a href="' + esc(s.url) + '" rel="noopener noreferrer" target="_blank">' + esc(s.url) + '</a><br>学员 ' + esc(s.trainee_name) +
          (s.cooperative ? ' · 合作社 ' + esc(s.cooperative) : '') + ' · ' + esc(nm[s.village_id] || '') + '（' + esc(nm[s.township_id] || '') + '）<br>开店 ' + esc(s.opened_on) +
          (s.main_products ? ' · 主营 ' + esc(s.main_products) : '') + (s.closed_on ? ' · 关闭于 ' + esc(s.closed_on) : '') + '</div>';
        h += '<h2>销售增长</h2>' + growthHTML(g) + bars(g.by_month || []);
        if (!is('auditor')) {
          h += '<form class="card" id="sale-new"><b>填报月销售</b><div class="row"><label>月份<input type="month" name="month" max="' + thisMonth() + '" value="' + thisMonth() + '" required></label>' +
            '<label>订单数<input type="number" name="orders" min="0" step="1" required></label><label>销售额（元）<input type="number" name="revenue" min="0" step="0.01" required></label></div>' +
            '<p class="small muted">同一月份再次填报会替换之前的数据，原数据保留在修改记录中。</p><button class="primary">提交</button><div class="msg"></div></form>';
        }
        h += '<h2>各月销售</h2>' + (cur.length ? rowsTable(['月份', '订单', '销售额（元）', '填报次数'], cur.slice().reverse().map(function (x) {
          return [esc(x.month), String(x.orders), yuan(x.revenue_fen), String(x.version)];
        })) : '<p class="muted">尚未填报。</p>');
        if (hist.length) h += '<h2>修改记录</h2>' + rowsTable(['月份', '原订单', '原销售额（元）', '被替换于'], hist.map(function (x) {
          return [esc(x.month), String(x.orders), yuan(x.revenue_fen), esc(NX.time(x.replaced_at))];
        }));
        if (is('admin', 'officer')) h += '<p><button id="shop-close">' + (s.status === 'closed' ? '重新开店' : '标记为已关闭') + '</button></p>';
        el.innerHTML = h;
        var f = el.querySelector('#sale-new');
        if (f) submit(f, function (b) {
          return NX.post('/shops/' + encodeURIComponent(id) + '/sales', { month: b.month, orders: b.orders, revenue_fen: Math.round((b.revenue || 0) * 100) });
        }, function (x, msg) { msg.className = 'msg ok'; msg.textContent = x.replaced ? '已替换该月数据。' : '已提交。'; setTimeout(NX.route, 800); });
        var c = el.querySelector('#shop-close');
        if (c) c.addEventListener('click', function () {
          var closing = s.status !== 'closed';
          if (closing && !confirm('确认该网店已关闭？')) return;
          NX.post('/shops/' + encodeURIComponent(id) + '/close', { closed: closing }).then(NX.route).catch(function (x) { alert(NX.errText(x)); });
        });
      });
    }
  });

  /* ---------- 转化漏斗 ---------- */
  function funnelHTML(f, base) {
    var top = Math.max(1, f.trained || 0);
    return STEPS.map(function (s, i) {
      var n = f[s[0]] || 0, prev = i ? (f[STEPS[i - 1][0]] || 0) : 0;
      return '<a class="card" style="display:block;text-decoration:none" href="#/conversion/' + s[0] + (base || '') + '"><div class="row"><b>' + s[1] + '</b><span style="text-align:right"><b>' + n + '</b> 人' +
        (i && prev ? ' <span class="small muted">（上一环节的 ' + (n / prev * 100).toFixed(0) + '%）</span>' : '') + '</span></div>' +
        '<progress max="' + top + '" value="' + Math.min(n, top) + '"></progress></a>';
    }).join('');
  }
  function table(title, first, rows, label) {
    return '<h2>' + title + '</h2>' + rowsTable([first].concat(STEPS.map(function (s) { return s[1]; })),
      rows.map(function (r) { return ['<b>' + esc(label(r[0])) + '</b>'].concat(STEPS.map(function (s) { return String(r[1][s[0]] || 0); })); }));
  }
  NX.view('conversion', {
    title: '转化漏斗', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '参训→取证→回访→开店→销售→入孵',
    render: function (el, args) {
      if (args[0]) return stepList(el, args[0], args[1] || '');
      return Promise.all([NX.get('/conversion'), NX.get('/incubation/growth'), NX.get('/incubation/summary'), names()]).then(function (r) {
        var c = r[0], g = r[1], sum = r[2], nm = r[3];
        var h = '<h1>培训转化</h1><p class="small muted">数据来自计数器，截至 ' + NX.time(c.as_of) + '；「近三月有销售」指 ' + esc(c.selling_since) + ' 以来有销售。</p>' + funnelHTML(c);
        var tw = Object.keys(c.by_township || {}).map(function (k) { return [k, c.by_township[k]]; }).sort(function (a, b) { return (nm[a[0]] || '').localeCompare(nm[b[0]] || '', 'zh'); });
        if (tw.length > 1) h += table('按乡镇', '乡镇', tw, function (k) { return nm[k] || '（未知乡镇）'; });
        var gr = Object.keys(GROUPS).filter(function (k) { return c.by_group && c.by_group[k]; }).map(function (k) { return [k, c.by_group[k]]; });
        if (gr.length) h += table('按人群（建档立卡贫困户优先）', '人群', gr, function (k) { return GROUPS[k] || '其他'; });
        h += '<h2>电商销售增长（目标 ≥ 30%）</h2>' + growthHTML(g) + bars(g.by_month || []);
        h += '<h2>龙头企业与地方品牌</h2><div class="grid"><div class="kpi"><b>' + sum.enterprises + '</b>龙头企业（目标 3–5 户）</div><div class="kpi"><b>' + sum.brands + '</b>地方品牌（目标 2–3 个）</div><div class="kpi"><b>' + sum.shops + '</b>登记网店</div></div>';
        if (is('admin')) h += '<p><button id="recount">按原始记录重新核算</button> <span id="recount-msg" class="small"></span></p>';
        el.innerHTML = h;
        var b = el.querySelector('#recount');
        if (b) b.addEventListener('click', function () {
          var m = el.querySelector('#recount-msg'); b.disabled = true; m.textContent = '核算中…';
          NX.post('/conversion/recount?fix=true').then(function (x) {
            m.className = 'small ' + (x.ok ? 'ok' : 'error');
            m.textContent = x.ok ? '计数与记录一致。' : '发现 ' + x.differences.length + ' 处不一致，已按记录修正。';
          }).catch(function (x) { m.className = 'small error'; m.textContent = NX.errText(x); }).then(function () { b.disabled = false; });
        });
      });
    }
  });
  function stepList(el, step, group) {
    var label = (STEPS.filter(function (s) { return s[0] === step; })[0] || [step, step])[1];
    if (step === 'trained') { el.innerHTML = '<p><a href="#/conversion">← 转化漏斗</a></p><p>参训学员名单请在学员管理中查看。</p>'; return; }
    return Promise.all([NX.get('/conversion/steps/' + encodeURIComponent(step) + (group ? '?group=' + encodeURIComponent(group) : '')), names()]).then(function (r) {
      var list = r[0].trainees, nm = r[1];
      el.innerHTML = '<p><a href="#/conversion">← 转化漏斗</a></p><h1>' + esc(label) + '：' + list.length + ' 人</h1>' +
        '<div class="menu"><a href="#/conversion/' + step + '"' + (!group ? ' class="on"' : '') + '>全部</a>' + Object.keys(GROUPS).map(function (g) {
          return '<a href="#/conversion/' + step + '/' + g + '"' + (g === group ? ' class="on"' : '') + '>' + GROUPS[g] + '</a>';
        }).join('') + '</div>' +
        (list.length ? rowsTable(['学员', '乡镇', '人群', step === 'selling' ? '最近销售月' : '时间'], list.map(function (t) {
          return [esc(t.name), esc(nm[t.township_id] || ''), t.groups.map(function (g) { return esc(GROUPS[g] || '其他'); }).join('、') || '—',
            step === 'selling' ? esc(t.month) : esc(NX.date(t.at))];
        })) : '<p class="muted">暂无。</p>');
    });
  }

  /* ---------- 孵化、企业、品牌、产品 ---------- */
  NX.view('incubation', {
    title: '孵化与品牌', roles: ['admin', 'officer', 'trainer', 'auditor'], hint: '孵化批次、龙头企业、地方品牌、产品名录',
    render: function (el) {
      return Promise.all([NX.get('/cohorts'), NX.get('/enterprises'), NX.get('/brands'), NX.get('/products')]).then(function (r) {
        var cohorts = r[0].cohorts, ents = r[1].enterprises, brands = r[2].brands, prods = r[3].products, admin = is('admin');
        var pn = {}; prods.forEach(function (p) { pn[p.id] = p.name; });
        var prodChecks = function (name) { return '<div class="row">' + prods.filter(function (p) { return !p.retired; }).map(function (p) { return '<label class="small"><input type="checkbox" data-list="1" name="' + name + '" value="' + esc(p.id) + '">' + esc(p.name) + '</label>'; }).join('') + '</div>'; };
        var h = '<h1>孵化与品牌</h1><h2>孵化批次</h2>' + (cohorts.length ? cohorts.map(function (c) {
          return '<a class="card" style="display:block;text-decoration:none" href="#/cohort/' + esc(c.id) + '"><b>' + esc(c.name) + '</b><br><span class="small muted">' + esc(c.starts_on) + ' 至 ' + esc(c.ends_on) +
            ' · 导师 ' + esc((c.mentors || []).join('、') || '—') + ' · 入孵 ' + c.members + ' 家 · 结业 ' + c.graduated + ' 家</span></a>';
        }).join('') : '<p class="muted">暂无孵化批次。</p>');
        if (admin) h += '<form class="card" id="co-new"><b>新建孵化批次</b><label>名称<input name="name" required maxlength="100"></label>' +
          '<div class="row"><label>开始<input type="date" name="starts_on" required></label><label>结束<input type="date" name="ends_on" required></label></div>' +
          '<label>导师（用逗号分隔）<input name="mentors"></label><label>月销售额达标线（元）<input type="number" name="line" min="0" step="0.01"></label>' +
          '<button class="primary">创建</button><div class="msg"></div></form>';
        h += '<h2>龙头企业（' + ents.length + ' 户，目标 3–5 户）</h2>' + (ents.length ? rowsTable(['企业', '产品', '网店'], ents.map(function (x) {
          return [esc(x.name) + '<br><span class="small muted">' + esc(x.credit_code || '') + ' ' + esc(x.business || '') + '</span>', x.products.map(function (p) { return esc(pn[p] || '（已删除的产品）'); }).join('、') || '—', x.shop_ids.length + ' 家'];
        })) : '<p class="muted">暂无。</p>');
        if (admin) h += '<form class="card" id="ent-new"><b>登记龙头企业</b><label>企业名称<input name="name" required maxlength="100"></label><label>统一社会信用代码<input name="credit_code" maxlength="18"></label>' +
          '<label>主营业务<input name="business" maxlength="500"></label><label>认定日期<input type="date" name="recognized_on"></label><p class="small muted">产品</p>' + prodChecks('products') +
          '<button class="primary">登记</button><div class="msg"></div></form>';
        h += '<h2>地方品牌（' + brands.length + ' 个，目标 2–3 个）</h2>' + (brands.length ? rowsTable(['品牌', '商标号', '认证', '产品'], brands.map(function (b) {
          return [esc(b.name), esc(b.trademark_no || '—'), b.certifications.map(function (c) { return esc(CERTS[c] || '其他'); }).join('、') || '—', b.products.map(function (p) { return esc(pn[p] || '（已删除的产品）'); }).join('、') || '—'];
        })) : '<p class="muted">暂无。</p>');
        if (admin) h += '<form class="card" id="brand-new"><b>登记地方品牌</b><label>品牌名称<input name="name" required maxlength="100"></label><label>商标注册号<input name="trademark_no" maxlength="20"></label>' +
          '<label>所属企业<select name="enterprise_id"><option value="">—</option>' + ents.map(function (x) { return '<option value="' + esc(x.id) + '">' + esc(x.name) + '</option>'; }).join('') + '</select></label>' +
          '<p class="small muted">认证</p><div class="row">' + Object.keys(CERTS).map(function (c) { return '<label class="small"><input type="checkbox" data-list="1" name="certifications" value="' + c + '">' + CERTS[c] + '</label>'; }).join('') + '</div>' +
          '<p class="small muted">产品</p>' + prodChecks('products') + '<button class="primary">登记</button><div class="msg"></div></form>';
        h += '<h2>县域优势农产品名录</h2><p>' + prods.map(function (p) { return tag(p.retired ? 'warn' : '', p.name + (p.category ? '（' + p.category + '）' : '')); }).join(' ') + '</p>';
        if (admin) h += '<form class="card" id="prod-new"><div class="row"><label>产品<input name="name" required maxlength="50"></label><label>类别<input name="category" maxlength="50"></label></div><button class="primary">加入名录</button><div class="msg"></div></form>';
        el.innerHTML = h;
        var ok = function () { NX.route(); };
        var f = el.querySelector('#co-new');
        if (f) submit(f, function (b) {
          return NX.post('/cohorts', { name: b.name, starts_on: b.starts_on, ends_on: b.ends_on, mentors: (b.mentors || '').split(/[,，、\s]+/).filter(Boolean), revenue_line_fen: Math.round((b.line || 0) * 100) });
        }, ok);
        f = el.querySelector('#ent-new'); if (f) submit(f, function (b) { return NX.post('/enterprises', b); }, ok);
        f = el.querySelector('#brand-new'); if (f) submit(f, function (b) { return NX.post('/brands', b); }, ok);
        f = el.querySelector('#prod-new'); if (f) submit(f, function (b) { return NX.post('/products', b); }, ok);
      });
    }
  });

  NX.view('cohort', {
    title: '孵化批次', menu: false, roles: ['admin', 'officer', 'trainer', 'auditor'],
    render: function (el, args) {
      var id = args[0];
      return Promise.all([NX.get('/cohorts/' + encodeURIComponent(id)), is('admin') ? NX.get('/shops?status=active') : Promise.resolve({ shops: [] })]).then(function (r) {
        var c = r[0].cohort, ms = r[0].members, shops = r[1].shops, admin = is('admin');
        var inside = {}; ms.forEach(function (m) { inside[m.shop_id] = true; });
        var h = '<p><a href="#/incubation">← 孵化与品牌</a></p><h1>' + esc(c.name) + '</h1><p class="small muted">' + esc(c.starts_on) + ' 至 ' + esc(c.ends_on) + ' · 导师 ' + esc((c.mentors || []).join('、') || '—') +
          (c.revenue_line_fen ? ' · 月销售额达标线 ' + yuan(c.revenue_line_fen) + ' 元' : '') + '</p>';
        h += ms.length ? ms.map(function (m) {
          var got = {}; m.milestones.forEach(function (x) { got[x.kind] = x; });
          return '<div class="card"><b><a href="#/shop/' + esc(m.shop_id) + '">' + esc(m.shop_name) + '</a></b> · ' + esc(m.trainee_name) + ' ' + (m.graduated_on ? tag('good', '已结业 ' + m.graduated_on) : tag('', '孵化中')) +
            '<br><span class="small muted">入孵 ' + esc(m.admitted_on) + '</span><div class="row small">' + Object.keys(MILESTONES).map(function (k) {
              return got[k] ? tag('good', MILESTONES[k] + ' ' + got[k].on) : tag('', MILESTONES[k] + ' 未达成');
            }).join(' ') + '</div>' +
            (admin && !m.graduated_on ? '<form class="row ms-form" data-shop="' + esc(m.shop_id) + '"><select name="kind">' + Object.keys(MILESTONES).filter(function (k) { return !got[k]; }).map(function (k) { return '<option value="' + k + '">' + MILESTONES[k] + '</option>'; }).join('') +
              '</select><input type="date" name="on" value="' + today() + '"><button class="primary">记录里程碑</button><button type="button" class="grad" data-shop="' + esc(m.shop_id) + '">结业</button><div class="msg"></div></form>' : '') + '</div>';
        }).join('') : '<p class="muted">尚无入孵网店。</p>';
        var cand = shops.filter(function (s) { return !inside[s.id]; });
        if (admin) h += '<form class="card" id="admit"><b>网店入孵</b><label>网店<select name="shop_id" required>' + cand.map(function (s) { return '<option value="' + esc(s.id) + '">' + esc(s.name) + ' · ' + esc(s.trainee_name) + '</option>'; }).join('') +
          '</select></label><label>入孵日期<input type="date" name="admitted_on" value="' + today() + '"></label><button class="primary">入孵</button><div class="msg"></div></form>';
        el.innerHTML = h;
        var base = '/cohorts/' + encodeURIComponent(id);
        var f = el.querySelector('#admit'); if (f) submit(f, function (b) { return NX.post(base + '/members', b); }, NX.route);
        el.querySelectorAll('.ms-form').forEach(function (f) {
          submit(f, function (b) { return NX.post(base + '/members/' + f.dataset.shop + '/milestones', b); }, NX.route);
        });
        el.querySelectorAll('.grad').forEach(function (b) {
          b.addEventListener('click', function () {
            if (!confirm('确认该网店结业？')) return;
            NX.post(base + '/members/' + b.dataset.shop + '/graduate', { on: today() }).then(NX.route).catch(function (x) { alert(NX.errText(x)); });
          });
        });
      });
    }
  });
})();
