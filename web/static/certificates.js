/* 农训 certificates: a trainee's own certificates with download; the office's
   page to judge a course's trainees, record assessments, issue, see who was
   skipped and why, download the PDFs as a ZIP, export the register, revoke. */
(function () {
  'use strict';
  var esc = NX.esc;
  var statusTag = function (s) { return s === 'revoked' ? '<span class="tag bad" style="white-space:nowrap">已撤销</span>' : '<span class="tag good" style="white-space:nowrap">有效</span>'; };
  /* Header cells that never break one character per line at 360 px. */
  function ths(names) { return names.map(function (n) { return '<th style="white-space:nowrap">' + n + '</th>'; }).join(''); }

  function pdfName(c) { return '证书-' + c.serial + '.pdf'; }

  NX.view('mycerts', {
    title: '我的证书', roles: ['trainee'], hint: '查看和下载结业证书',
    render: function (view) {
      return NX.get('/my/certificates').then(function (r) {
        var el = document.createElement('div');
        view.innerHTML = ''; view.appendChild(el);
        var items = r.items || [];
        el.innerHTML = '<h1>我的证书</h1>' + (items.length ? '' : '<p class="muted">还没有证书。完成课程出勤要求后，由培训老师颁发。</p>') +
          items.map(function (c) {
            return '<div class="card"><p><b>' + esc(c.course_title) + '</b> ' + statusTag(c.status) + '</p>' +
              '<p class="small muted">证书编号 ' + esc(c.serial) + ' · ' + esc(NX.date(c.issued_at)) + ' 颁发 · ' + esc(c.hours) + ' 学时</p>' +
              (c.status === 'revoked' ? '<p class="error small">撤销原因：' + esc(c.revoked_reason) + '</p>' : '') +
              '<div class="row"><button class="primary" data-pdf="' + esc(c.id) + '" data-name="' + esc(pdfName(c)) + '">下载证书 PDF</button>' +
              '<a href="/verify/' + encodeURIComponent(c.code) + '" target="_blank" rel="noopener">查看验证页</a></div>' +
              '<p class="error small" hidden></p></div>';
          }).join('');
        el.addEventListener('click', function (e) {
          var b = e.target.closest('button[data-pdf]');
          if (!b) return;
          var err = b.closest('.card').querySelector('p.error:last-child');
          b.disabled = true; b.textContent = '下载中…';
          NX.download('/certificates/' + b.dataset.pdf + '/pdf', b.dataset.name)
            .catch(function (x) { if (err) { err.hidden = false; err.textContent = x.message + '，请在有信号时重试'; } })
            .then(function () { b.disabled = false; b.textContent = '下载证书 PDF'; });
        });
      });
    }
  });

  function courseOptions(list, sel) {
    return '<option value="">请选择课程</option>' + list.map(function (c) {
      return '<option value="' + esc(c.id) + '"' + (c.id === sel ? ' selected' : '') + '>' + esc(c.title) + '</option>';
    }).join('');
  }

  function standingRow(s, rule, canAssess) {
    var att = s.held ? (s.attended + '/' + s.held) : '—';
    var as = s.assessment === 'passed' ? '<span class="tag good" style="white-space:nowrap">通过</span>' : s.assessment === 'failed' ? '<span class="tag bad" style="white-space:nowrap">未通过</span>' : (rule ? '<span class="tag warn" style="white-space:nowrap">未录入</span>' : '—');
    var state = s.serial ? '<span class="tag good" style="white-space:nowrap">已发证</span> <span class="small" style="white-space:nowrap">' + esc(s.serial) + '</span>'
      : s.eligible ? '<span class="tag" style="white-space:nowrap">可发证</span>' : '<span class="small error">' + esc(s.reason) + '</span>';
    var btns = canAssess ? '<div class="small"><button class="link" data-assess="' + esc(s.trainee_id) + '" data-passed="1">记为通过</button> · ' +
      '<button class="link" data-assess="' + esc(s.trainee_id) + '" data-passed="0">记为未通过</button></div>' : '';
    return '<tr><td data-label="姓名" style="white-space:nowrap">' + esc(s.name) + '</td><td data-label="出勤">' + att + '</td><td data-label="考核">' + as + btns + '</td><td data-label="状态">' + state + '</td></tr>';
  }

  function certRow(c, canRevoke) {
    return '<tr><td data-label="编号" style="white-space:nowrap">' + esc(c.serial) + '</td><td data-label="姓名" style="white-space:nowrap">' + esc(c.name) + '</td><td data-label="状态">' + statusTag(c.status) +
      (c.status === 'revoked' ? '<div class="small muted">' + esc(c.revoked_reason) + '</div>' : '') + '</td><td data-label="操作">' +
      '<button class="link" data-pdf="' + esc(c.id) + '" data-name="' + esc(pdfName(c)) + '">PDF</button>' +
      (canRevoke && c.status === 'valid' ? ' · <button class="link" data-revoke="' + esc(c.id) + '">撤销</button>' : '') + '</td></tr>';
  }

  /* The admin's first-run setup of the certificate page: issuer and seal. */
  function settingsHTML(st) {
    st = st || {};
    return '<h2>证书设置</h2><div class="card"><form id="cs-issuer"><label>颁发单位（印在证书上）<input name="issuer" required maxlength="40" value="' + esc(st.issuer || '') + '"></label>' +
      (st.issuer_set ? '' : '<p class="small muted">尚未设置，目前使用服务器配置中的颁发单位。</p>') + '<button>保存颁发单位</button><p class="small" id="cs-imsg"></p></form>' +
      '<form id="cs-seal"><p><b>印章图片</b> ' + (st.seal ? '<span class="tag good">已上传</span>' : '<span class="tag warn">未上传</span>') + '</p>' +
      (st.seal ? '<p><img id="cs-img" alt="印章" style="max-width:120px;max-height:120px"></p>' : '') +
      '<p class="small muted">PNG 格式，建议透明底、正方形，不超过 2 MB；盖在颁发单位名称上。</p>' +
      '<input type="file" name="file" accept=".png,image/png" required><button>上传印章</button>' + (st.seal ? ' <button type="button" class="link error" id="cs-del">删除印章</button>' : '') +
      '<p class="small" id="cs-smsg"></p></form></div>';
  }
  function wireSettings(el) {
    var fi = el.querySelector('#cs-issuer'), fs = el.querySelector('#cs-seal');
    if (!fi) return;
    var img = el.querySelector('#cs-img');
    if (img) fetch('/api/v1/certificates/seal', { headers: { Authorization: 'Bearer ' + NX.token() } }).then(function (r) { return r.ok ? r.blob() : null; })
      .then(function (b) { if (b) img.src = URL.createObjectURL(b); });
    fi.addEventListener('submit', function (e) {
      e.preventDefault();
      NX.api('PUT', '/certificates/settings', NX.form(fi)).then(function () { el.querySelector('#cs-imsg').innerHTML = '<span class="ok">已保存，新证书将使用新的颁发单位。</span>'; })
        .catch(function (x) { el.querySelector('#cs-imsg').innerHTML = '<span class="error">' + esc(NX.errText(x)) + '</span>'; });
    });
    fs.addEventListener('submit', function (e) {
      e.preventDefault();
      var file = fs.elements.file.files[0];
      if (!file) return;
      var fd = new FormData(); fd.append('file', file, file.name);
      NX.upload('/certificates/seal', fd).then(NX.route).catch(function (x) { el.querySelector('#cs-smsg').innerHTML = '<span class="error">' + esc(NX.errText(x)) + '</span>'; });
    });
    var del = el.querySelector('#cs-del');
    if (del) del.addEventListener('click', function () {
      if (!confirm('删除印章？之后的证书不再盖章。')) return;
      NX.api('DELETE', '/certificates/seal').then(NX.route).catch(function (x) { alert(NX.errText(x)); });
    });
  }

  NX.view('certs', {
    title: '证书', roles: ['admin', 'trainer', 'officer', 'auditor'], hint: '颁发、撤销、导出结业证书',
    render: function (view, args) {
      var el = document.createElement('div');
      var role = NX.user.role, cid = args[0] || '';
      var canIssue = role === 'admin' || role === 'trainer', isAdmin = role === 'admin';
      return Promise.all([NX.get('/courses' + (role === 'trainer' ? '?mine=1' : '')), NX.get('/certificates/settings').catch(function () { return null; })]).then(function (r) {
        var list = r[0], st = r[1];
        list = list.items || list || [];
        view.innerHTML = ''; view.appendChild(el);
        el.innerHTML = '<h1>证书</h1>' +
          (st && st.public_url_loopback && canIssue ? '<div class="card" style="background:#fff3cd;color:#6b4e00"><b>⚠ 证书二维码指向本机地址</b><p class="small">服务器的公开地址（PUBLIC_URL）是 ' + esc(st.public_url || '未设置') +
            '，现在打印的证书二维码在别人的手机上打不开。请管理员把 PUBLIC_URL 设为群众能访问的网址后再颁发、打印证书；改好后证书会按新地址重新生成。</p></div>' : '') +
          '<label>课程<select id="ct-course">' + courseOptions(list, cid) + '</select></label>' +
          (role !== 'trainer' ? '<p class="small">证书登记册：<button class="link" data-reg="csv">导出 CSV</button> · <button class="link" data-reg="xlsx">导出 Excel</button></p>'
            : (cid ? '<p class="small">本课程证书登记册：<button class="link" data-reg="csv">导出 CSV</button> · <button class="link" data-reg="xlsx">导出 Excel</button></p>' : '')) +
          '<div id="ct-body"></div>' + (isAdmin ? settingsHTML(st) : '');
        if (isAdmin) wireSettings(el);
        el.querySelector('#ct-course').addEventListener('change', function (e) { NX.go('#/certs/' + encodeURIComponent(e.target.value)); });
        el.addEventListener('click', function (e) {
          var b = e.target.closest('button');
          if (!b) return;
          if (b.dataset.reg) NX.download('/certificates/register?format=' + b.dataset.reg + (role === 'trainer' ? '&course_id=' + encodeURIComponent(cid) : ''), '证书登记册.' + b.dataset.reg).catch(function (x) { alert(x.message); });
          if (b.dataset.pdf) NX.download('/certificates/' + b.dataset.pdf + '/pdf', b.dataset.name).catch(function (x) { alert(x.message); });
        });
        var body = el.querySelector('#ct-body');
        body.addEventListener('click', function (e) {
          var b = e.target.closest('button');
          if (!b) return;
          if (b.dataset.assess) {
            NX.post('/courses/' + cid + '/assessments', { results: [{ trainee_id: b.dataset.assess, passed: b.dataset.passed === '1' }] })
              .then(function () { load(body); }, fail(body));
          }
          if (b.dataset.revoke) {
            var td = b.parentNode, id = b.dataset.revoke;
            td.innerHTML = '<form class="row"><input name="reason" required maxlength="200" placeholder="撤销原因（必填）"><button>确认撤销</button></form>';
            td.querySelector('form').addEventListener('submit', function (ev) {
              ev.preventDefault();
              NX.post('/certificates/' + id + '/revoke', NX.form(ev.target)).then(function () { load(body); }, fail(body));
            });
          }
        });
        if (cid) return load(body);
      });

      function load(body) {
        body.innerHTML = '<p class="muted">加载中…</p>';
        return Promise.all([NX.get('/courses/' + cid + '/eligibility'), NX.get('/courses/' + cid + '/certificates')]).then(function (r) {
          var el0 = r[0], certs = r[1].items || [], rule = el0.rule && el0.rule.requires_assessment;
          var ready = el0.items.filter(function (s) { return s.eligible && !s.serial; }).length;
          body.innerHTML =
            (isAdmin ? '<label><input type="checkbox" id="ct-rule"' + (rule ? ' checked' : '') + '>本课程须考核通过才能发证</label>' : '') +
            (canIssue ? '<div class="card"><p>可发证 <b>' + ready + '</b> 人（出勤达到课程要求' + (rule ? '且考核通过' : '') + '）。</p>' +
              '<button class="primary" id="ct-issue"' + (ready ? '' : ' disabled') + '>为合格学员颁发证书</button><div id="ct-result"></div></div>' : '') +
            '<h2>学员（' + el0.items.length + '）</h2><div class="scroll"><table class="rows"><thead><tr>' + ths(['姓名', '出勤', '考核', '状态']) + '</tr></thead><tbody>' +
            el0.items.map(function (s) { return standingRow(s, rule, isAdmin); }).join('') + '</tbody></table></div>' +
            '<h2>已颁发证书（' + certs.length + '）</h2>' +
            (certs.length && role !== 'auditor' ? '<p><button id="ct-zip">下载全部证书（ZIP，供打印）</button></p>' : '') +
            '<div class="scroll"><table class="rows"><thead><tr>' + ths(['编号', '姓名', '状态', '']) + '</tr></thead><tbody>' +
            certs.map(function (c) { return certRow(c, isAdmin); }).join('') + '</tbody></table></div><p class="error" id="ct-err"></p>';
          wire(body, el0);
        });
      }

      function fail(body) { return function (x) { body.querySelector('#ct-err').textContent = NX.errText(x); }; }

      function wire(body, el0) {
        var names = {};
        el0.items.forEach(function (s) { names[s.trainee_id] = s.name; });
        var rule = body.querySelector('#ct-rule');
        if (rule) rule.addEventListener('change', function () {
          NX.api('PUT', '/courses/' + cid + '/certificate-rule', { requires_assessment: rule.checked }).then(function () { load(body); }, fail(body));
        });
        var issue = body.querySelector('#ct-issue');
        if (issue) issue.addEventListener('click', function () {
          issue.disabled = true; issue.textContent = '颁发中…';
          NX.post('/courses/' + cid + '/certificates', {}).then(function (r) {
            return load(body).then(function () {
              body.querySelector('#ct-result').innerHTML = '<p class="ok">已颁发 ' + r.issued.length + ' 张。</p>' +
                (r.skipped.length ? '<h2>未颁发（' + r.skipped.length + '）</h2><ul>' + r.skipped.map(function (s) {
                  return '<li>' + esc(names[s.trainee_id] || s.trainee_id) + '：' + esc(s.reason) + '</li>';
                }).join('') + '</ul>' : '') +
                r.issued.filter(function (i) { return i.missing_glyphs; }).map(function (i) {
                  return '<p class="small error">' + esc(names[i.trainee_id]) + ' 的姓名含字库缺少的字「' + esc(i.missing_glyphs) + '」，证书上显示为方框，请手写补正。</p>';
                }).join('');
            });
          }, function (x) { issue.disabled = false; issue.textContent = '为合格学员颁发证书'; fail(body)(x); });
        });
        var zip = body.querySelector('#ct-zip');
        if (zip) zip.addEventListener('click', function () {
          zip.disabled = true; zip.textContent = '正在生成…';
          NX.download('/courses/' + cid + '/certificates/zip', '证书.zip').catch(fail(body))
            .then(function () { zip.disabled = false; zip.textContent = '下载全部证书（ZIP，供打印）'; });
        });
      }
    }
  });
})();
