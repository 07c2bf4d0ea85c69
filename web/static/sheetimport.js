/* 纸质签到表导入：讲师签到屏上的“导入纸质签到表”。选择 Excel 或 CSV 签到表（身份证号，或姓名和手机号；签到列打 √），
   可关联已上传的签到表照片；先预览每一行的结果，再确认导入（POST /sessions/:id/attendance/import）。 */
(function () {
  'use strict';
  var esc = NX.esc;
  var TAGS = {
    present: ['将记为到场', 'good'], already: ['已签到', ''], unknown: ['名册中没有', 'warn'], refused: ['无法导入', 'bad'], absent: ['未到', '']
  };
  function label(st, done) {
    if (st === 'present' && done) return ['已记为到场', 'good'];
    return TAGS[st] || ['其他', ''];
  }
  function table(res, done) {
    var c = res.counts || {};
    var sum = '<p>' + (done ? '已记录 <b>' + res.recorded + '</b> 人到场' : '将记为到场 <b>' + (c.present || 0) + '</b> 人') +
      '；已签到 ' + (c.already || 0) + ' 人；名册中没有 ' + (c.unknown || 0) + ' 人；无法导入 ' + (c.refused || 0) + ' 行；未到 ' + (c.absent || 0) + ' 人。</p>';
    var notes = (res.notes || []).map(function (n) { return '<p class="small muted">' + esc(n) + '</p>'; }).join('');
    if (!res.rows.length) return sum + notes + '<p class="muted">表中没有数据行。</p>';
    return sum + notes + '<table class="rows"><thead><tr><th>行号</th><th>姓名</th><th>身份证号或手机号</th><th>结果</th><th>说明</th></tr></thead><tbody>' +
      res.rows.map(function (r) {
        var t = label(r.status, done);
        return '<tr><td data-label="行号">' + (r.sheet ? esc(r.sheet) + ' ' : '') + '第 ' + r.row + ' 行</td>' +
          '<td data-label="姓名">' + esc(r.name || '—') + '</td>' +
          '<td data-label="证件/手机">' + esc(r.id_number || r.phone || '—') + '</td>' +
          '<td data-label="结果"><span class="tag ' + t[1] + '">' + esc(t[0]) + '</span></td>' +
          '<td data-label="说明">' + esc(r.reason || '') + '</td></tr>';
      }).join('') + '</tbody></table>';
  }

  /* NX.sheetImport(box, sessionID, done): the import panel of the session page; done() after an import. */
  NX.sheetImport = function (box, sid, done) {
    box.innerHTML = '<button type="button" id="si-open">导入纸质签到表</button>' +
      '<div id="si-panel" class="card" hidden><form id="si-form">' +
      '<label>签到表文件（Excel 或 CSV）<input type="file" name="file" accept=".xlsx,.csv,.txt,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,text/csv" required></label>' +
      '<label>关联签到表照片（可不选）<select name="photo_id"><option value="">不关联照片</option></select></label>' +
      '<p class="small muted">表中需有“身份证号”列，或“姓名”和“手机号”两列，以及“签到”列：√、是、到 或本人签名表示已到，空白、×、请假 表示未到。表头上方的标题行可以保留。只导入名册中已登记的学员。</p>' +
      '<button class="primary">预览</button></form><p id="si-msg" role="status"></p><div id="si-out"></div>' +
      '<div id="si-go" hidden><button type="button" class="primary" id="si-confirm">确认导入</button> <button type="button" id="si-again">重新选择文件</button></div></div>';
    var panel = box.querySelector('#si-panel'), form = box.querySelector('#si-form'), out = box.querySelector('#si-out'),
      msg = box.querySelector('#si-msg'), go = box.querySelector('#si-go'), confirm = box.querySelector('#si-confirm');
    var file = null, photo = '';
    function say(cls, t) { msg.className = cls; msg.textContent = t; }
    function photos() {
      return NX.get('/sessions/' + sid + '/signin-photos').then(function (r) {
        form.photo_id.innerHTML = '<option value="">不关联照片</option>' + r.items.map(function (p, i) {
          return '<option value="' + esc(p.blob_id) + '">第 ' + (i + 1) + ' 张（' + esc(NX.time(p.at)) + '）</option>';
        }).join('');
        if (r.items.length) form.photo_id.value = r.items[r.items.length - 1].blob_id;
      }).catch(function () {});
    }
    function send(preview) {
      var fd = new FormData();
      fd.append('file', file);
      if (photo) fd.append('photo_id', photo);
      return NX.upload('/sessions/' + sid + '/attendance/import' + (preview ? '?preview=1' : ''), fd);
    }
    box.querySelector('#si-open').onclick = function () {
      panel.hidden = !panel.hidden;
      if (!panel.hidden) photos();
    };
    form.onsubmit = function (e) {
      e.preventDefault();
      if (!form.file.files.length) { say('error', '请先选择签到表文件'); return; }
      file = form.file.files[0]; photo = form.photo_id.value;
      var btn = form.querySelector('button');
      btn.disabled = true; go.hidden = true; out.innerHTML = '';
      say('muted', '正在读取签到表…');
      send(true).then(function (r) {
        say('', '预览：尚未写入。核对无误后点“确认导入”。');
        out.innerHTML = table(r, false);
        go.hidden = false;
        confirm.disabled = !(r.counts && r.counts.present);
        form.hidden = true;
      }).catch(function (x) { say('error', NX.errText(x)); }).then(function () { btn.disabled = false; });
    };
    confirm.onclick = function () {
      confirm.disabled = true;
      say('muted', '正在导入…');
      send(false).then(function (r) {
        say('ok', '导入完成：已记录 ' + r.recorded + ' 人到场');
        out.innerHTML = table(r, true);
        confirm.hidden = true;
        if (done) done();
      }).catch(function (x) { say('error', NX.errText(x)); confirm.disabled = false; });
    };
    box.querySelector('#si-again').onclick = function () {
      form.reset(); form.hidden = false; go.hidden = true; confirm.hidden = false; out.innerHTML = ''; say('', ''); photos();
    };
    return { photos: photos };
  };
})();
