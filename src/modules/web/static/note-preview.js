// The note editor's live preview: the text rendered by the server's own renderer and sanitiser (POST /notes/preview),
// so the preview is the note page's HTML, never a second Markdown configuration. Beside the text on a wide screen,
// a Write / Preview tab pair on a narrow one. Without JavaScript the form is the plain form and there is no preview.
(function () {
  'use strict';
  var editor = document.querySelector('[data-editor]');
  var form = editor && editor.closest('form');
  var pane = editor && editor.querySelector('[data-preview]');
  if (!form || !pane || !window.fetch) return;

  var body = form.elements.body;
  var output = pane.querySelector('[data-preview-html]');
  var empty = pane.querySelector('[data-preview-empty]');
  var failed = pane.querySelector('[data-preview-failed]');
  var tabs = editor.querySelector('[data-editor-tabs]');
  var counter = form.querySelector('[data-count-for="body"]');
  var max = Number(counter.getAttribute('data-max'));
  var wide = window.matchMedia('(min-width: 64rem)');

  var shown = null; // the text the preview shows
  var busy = false; // a request is out: one at a time, the newest text goes next
  var timer = null;

  function fill(template, args) {
    return template.replace(/\{(\d+)\}/g, function (_, i) {
      return args[Number(i)];
    });
  }

  function visible() {
    return wide.matches || editor.getAttribute('data-tab') === 'preview';
  }

  function fail(reason) {
    failed.textContent = fill(failed.getAttribute('data-preview-failed'), [reason]);
    failed.hidden = false;
  }

  function update() {
    var text = body.value;
    if (busy || text === shown || !visible()) return;
    if (Array.from(text).length > max) {
      fail(counter.getAttribute('data-too-long')); // the counter says by how much
      return;
    }
    busy = true;
    var sent = new URLSearchParams();
    sent.set('body', text);
    fetch(pane.getAttribute('data-preview'), {
      method: 'POST',
      credentials: 'same-origin',
      redirect: 'manual', // signed out: a redirect to the sign-in page is a failure, not a preview of it
      headers: { accept: 'text/html', 'x-csrf-token': form.elements._csrf.value },
      body: sent,
    })
      .then(function (res) {
        if (!res.ok)
          throw new Error(res.status === 0 || res.status === 401 || res.status === 403 ? failed.getAttribute('data-signed-out') : 'HTTP ' + res.status);
        return res.text();
      })
      .then(function (html) {
        // Sanitised by the server as the note page is; the CSP forbids inline scripts whatever it held.
        output.innerHTML = html;
        shown = text;
        empty.hidden = text.trim() !== '';
        failed.hidden = true;
        pane.setAttribute('data-rendered', String(Date.now()));
      })
      .catch(function (error) {
        fail(error && error.message && error.message !== 'Failed to fetch' ? error.message : failed.getAttribute('data-offline'));
      })
      .then(function () {
        busy = false;
        if (body.value !== shown) schedule();
      });
  }

  // No waiting for a pause in typing: the text goes at once when no request is out, and while one is, the newest
  // text goes when it answers. At most one request at a time, and the preview is never more than one behind.
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, 0);
  }

  function select(tab) {
    editor.setAttribute('data-tab', tab);
    Array.prototype.forEach.call(tabs.querySelectorAll('[data-editor-tab]'), function (button) {
      var on = button.getAttribute('data-editor-tab') === tab;
      button.setAttribute('aria-selected', String(on));
      button.tabIndex = on ? 0 : -1;
    });
    update();
  }

  tabs.addEventListener('click', function (event) {
    var button = event.target.closest('[data-editor-tab]');
    if (button) select(button.getAttribute('data-editor-tab'));
  });
  tabs.addEventListener('keydown', function (event) {
    if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
    var next = editor.getAttribute('data-tab') === 'preview' ? 'write' : 'preview';
    select(next);
    tabs.querySelector('[data-editor-tab="' + next + '"]').focus();
  });

  editor.classList.add('previewing');
  pane.hidden = false;
  tabs.hidden = false;
  select('write');
  body.addEventListener('input', schedule);
  wide.addEventListener('change', update); // a widened window shows the pane
})();
