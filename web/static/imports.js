/* 导入：花名册与区划表的导入流程（上传 → 预览 → 确认导入 → 结果，下载未通过的行），学员页和区域页共用。 */
(function () {
  'use strict';
  var esc = NX.esc;
  /* On a phone a row is a card: an empty 原因 line is left out. */
  (function () {
    if (document.getElementById('nx-imp-css')) return;
    var st = document.createElement('style');
    st.id = 'nx-imp-css';
    st.textContent = '@media (max-width:480px){table.rows td.nx-none{display:none}}@media (min-width:481px){table.rows td.nx-nw{white-space:nowrap}}';
    document.head.appendChild(st);
  })();
  /* Imports (花名册, 区划表): upload → preview (?preview=1, nothing written) → 确认导入 → result, with the
     refused rows as an XLSX in the upload's layout plus 原因 (POST path + '/refused' with the same file).
     opt: path, refusedName, what (学员/区域), cols [[label, fn(row), nowrap]…], done (after a commit). */
  NX.importFlow = function (form, box, opt) {
    var file = null, SHOW = 200;
    var TAG = { 'new': 'good', kept: '', refused: 'bad' };
    function where(r, many) { return (many && r.sheet ? esc(r.sheet) + ' ' : '') + '第 ' + r.row + ' 行'; }
    function table(rows, many, all) {
      var shown = all ? rows : rows.slice(0, SHOW);
      return '<table class="rows"><thead><tr><th>行</th>' + opt.cols.map(function (c) { return '<th>' + esc(c[0]) + '</th>'; }).join('') + '<th>结果</th><th>原因</th></tr></thead><tbody>' +
        shown.map(function (r) {
          return '<tr><td data-label="行" class="nx-nw">' + where(r, many) + '</td>' + opt.cols.map(function (c) { return '<td data-label="' + esc(c[0]) + '"' + (c[2] ? ' class="nx-nw"' : '') + '>' + esc(c[1](r) || '—') + '</td>'; }).join('') +
            '<td data-label="结果"><span class="tag ' + (TAG[r.status] || '') + '">' + esc(r.label) + '</span></td><td data-label="原因"' + (r.reason ? '' : ' class="nx-none"') + '>' + esc(r.reason || '') + '</td></tr>';
        }).join('') + '</tbody></table>' +
        (shown.length < rows.length ? '<p><button type="button" class="small" data-imp="all">显示全部 ' + rows.length + ' 行</button></p>' : '');
    }
    function sheetsText(r) {
      if (!r.sheets || r.sheets.length < 2) return '';
      return '<ul class="small">' + r.sheets.map(function (s) {
        return '<li>工作表“' + esc(s.name) + '”：' + (s.problem ? '<span class="muted">' + esc(s.problem) + '</span>' : '第 ' + s.header_row + ' 行是表头，读取 ' + s.rows + ' 行' + (s.skipped ? '，跳过空行 ' + s.skipped + ' 行' : '')) + '</li>';
      }).join('') + '</ul>';
    }
    var NEW = opt.what === '区域' ? '新建' : '新登记', UNIT = opt.what === '区域' ? ' 个' : ' 人';
    function show(r) {
      var rows = r.rows || [], refused = rows.filter(function (x) { return x.status === 'refused'; });
      var many = (r.sheets || []).filter(function (s) { return s.rows > 0; }).length > 1;
      // Refused rows first: they are what the clerk has to act on.
      var ordered = refused.concat(rows.filter(function (x) { return x.status !== 'refused'; }));
      var head = r.preview ? '<p><b>预览</b>（还没有导入）：共 ' + r.total + ' 行，可' + NEW + ' ' + r.created + '，已有不变 ' + r.kept + '，未通过 ' + r.refused.length + (r.skipped ? '；跳过空行 ' + r.skipped + ' 行' : '') + '。</p>'
        : '<p class="ok">已导入：' + NEW + ' ' + r.created + UNIT + '，已有不变 ' + r.kept + '，未通过 ' + r.refused.length + '。</p>';
      var notes = (r.notes || []).length ? '<div class="card"><ul>' + r.notes.map(function (n, i) { return '<li class="' + (i === 0 && /存成了数字/.test(n) ? 'error' : 'small') + '">' + esc(n) + '</li>'; }).join('') + '</ul></div>' : '';
      var actions = '<p class="row">' + (r.preview ? '<button type="button" class="primary" data-imp="commit"' + (r.created ? '' : ' disabled') + '>确认导入（' + NEW + ' ' + r.created + '）</button>' : '') +
        (refused.length ? '<button type="button" data-imp="refused">下载未通过的行（XLSX）</button>' : '') + '<button type="button" data-imp="again">重新选择文件</button></p>';
      box.innerHTML = head + notes + sheetsText(r) + actions + (rows.length ? table(ordered, many, false) : '<p class="muted">文件里没有数据行。</p>');
      box.onclick = function (e) {
        var b = e.target.closest('button[data-imp]'); if (!b) return;
        var act = b.dataset.imp;
        if (act === 'all') { b.parentNode.outerHTML = ''; box.querySelector('table.rows').outerHTML = table(ordered, many, true); }
        if (act === 'again') { box.innerHTML = ''; form.reset(); form.hidden = false; }
        if (act === 'commit') { b.disabled = true; b.textContent = '正在导入…'; send(false); }
        if (act === 'refused') { b.disabled = true; download().then(function () { b.disabled = false; }, function (x) { b.disabled = false; alert(NX.errText(x)); }); }
      };
    }
    function send(preview) {
      var fd = new FormData(); fd.append('file', file);
      var bar = form.querySelector('progress'); if (bar) { bar.hidden = false; bar.value = 0; }
      return NX.upload(opt.path + (preview ? '?preview=1' : ''), fd, function (p) { if (bar) bar.value = p; }).then(function (r) {
        form.hidden = true; show(r); if (!preview && opt.done) opt.done(r);
      }).catch(function (x) { form.hidden = false; box.innerHTML = '<p class="error">' + esc(NX.errText(x)) + '</p>'; }).then(function () { if (bar) bar.hidden = true; });
    }
    function download() {
      var fd = new FormData(); fd.append('file', file);
      return fetch('/api/v1' + opt.path + '/refused', { method: 'POST', body: fd, headers: { Authorization: 'Bearer ' + NX.token() } }).then(function (r) {
        if (!r.ok) return r.json().then(function (d) { throw new Error((d && d.error && d.error.message) || ('下载失败（' + r.status + '）')); }, function () { throw new Error('下载失败（' + r.status + '）'); });
        return r.blob();
      }).then(function (b) {
        var a = document.createElement('a'); a.href = URL.createObjectURL(b); a.download = opt.refusedName; document.body.appendChild(a); a.click();
        setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
      });
    }
    form.onsubmit = function (e) {
      e.preventDefault();
      if (!form.file.files.length) return;
      file = form.file.files[0]; box.innerHTML = '<p class="muted">正在读取文件…</p>';
      send(true);
    };
  };
})();
