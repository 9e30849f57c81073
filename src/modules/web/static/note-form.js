// The note form's helpers; the form works without them. Counters of code points (as the server counts), a submit
// held back while a field is over its limit, drafts kept in localStorage (one per note, one for a new note) and
// offered back when the page opens again, a question before leaving unsaved changes, and a fresh CSRF token after
// the session ended. Wired by data attributes (notes/edit.eta); runs under the strict CSP with the page's nonce.
// Other editor helpers (a preview) can sit beside these: they read the same form and call `kiroku.noteForm`.
(function () {
  'use strict';
  var PREFIX = 'kiroku:draft:';
  var SUBMITTED = 'kiroku:draft-submitted';

  /** Length in code points, as the server's CharLength counts: an emoji is one. */
  function chars(s) {
    return Array.from(s).length;
  }

  function number(n) {
    return n.toLocaleString('en-US');
  }

  function fill(template, args) {
    return template.replace(/\{(\d+)\}/g, function (_, i) {
      return args[Number(i)];
    });
  }

  function readJson(storage, key) {
    try {
      return JSON.parse(storage.getItem(key) || 'null');
    } catch {
      return null;
    }
  }

  /** A page that confirms a save: the draft this tab sent is saved now, unless it changed since (another tab). */
  function settleSubmitted() {
    var submitted = readJson(sessionStorage, SUBMITTED);
    if (!submitted) return;
    sessionStorage.removeItem(SUBMITTED);
    if (!document.querySelector('[data-flash="flash.noteSaved"]')) return;
    var draft = readJson(localStorage, submitted.key);
    if (draft && draft.savedAt === submitted.savedAt) localStorage.removeItem(submitted.key);
  }

  function editor(form) {
    var key = PREFIX + form.getAttribute('data-draft-key');
    var refused = form.hasAttribute('data-refused') || !!form.querySelector('[aria-invalid="true"]');
    var prompt = document.querySelector('[data-draft-prompt]');
    var notKept = form.querySelector('[data-draft-not-kept]');
    var counters = Array.prototype.slice.call(form.querySelectorAll('[data-count-for]'));
    var submitting = false;
    var held = false;
    var timer = null;

    function read() {
      var visibility = form.querySelector('input[name="visibility"]:checked');
      var editable = form.querySelector('input[name="editableByTeam"]');
      return {
        title: form.elements.title.value,
        body: form.elements.body.value,
        tags: form.elements.tags.value,
        visibility: visibility ? visibility.value : 'private',
        // A team member's form has neither field: its draft keeps none.
        editableByTeam: editable ? editable.checked : false,
      };
    }

    function write(values) {
      form.elements.title.value = values.title;
      form.elements.body.value = values.body;
      form.elements.tags.value = values.tags;
      var level = values.visibility === 'public' || values.visibility === 'team' ? values.visibility : 'private';
      var radio = form.querySelector('input[name="visibility"][value="' + level + '"]');
      if (radio) radio.checked = true;
      var editable = form.querySelector('input[name="editableByTeam"]');
      if (editable) editable.checked = values.editableByTeam === true;
      count();
      // As if typed: other helpers of the form (the preview) follow the text.
      form.elements.body.dispatchEvent(new Event('input', { bubbles: true }));
    }

    function same(a, b) {
      return a.title === b.title && a.body === b.body && a.tags === b.tags && a.visibility === b.visibility && !!a.editableByTeam === !!b.editableByTeam;
    }

    // What the page opened with; a refused form's text was never saved, so it is unsaved from the start.
    var initial = read();

    /** Each counter's text; true when a field is over its limit. */
    function count() {
      var over = false;
      counters.forEach(function (counter) {
        var field = form.elements[counter.getAttribute('data-count-for')];
        var value = counter.getAttribute('data-count-for') === 'title' ? field.value.trim() : field.value;
        var n = chars(value);
        var max = Number(counter.getAttribute('data-max'));
        var isOver = n > max;
        over = over || isOver;
        counter.textContent = isOver
          ? fill(counter.getAttribute('data-over-text'), [number(n), number(max), number(n - max)])
          : fill(counter.getAttribute('data-text'), [number(n), number(max)]);
        counter.classList.toggle('over', isOver);
        if (!isOver && counter.getAttribute('role') === 'alert') counter.removeAttribute('role');
      });
      return over;
    }

    function saveDraft() {
      var values = read();
      if (!refused && same(values, initial)) {
        localStorage.removeItem(key);
        return null;
      }
      var draft = { values: values, savedAt: Date.now() };
      try {
        localStorage.setItem(key, JSON.stringify(draft));
        if (notKept) notKept.hidden = true;
        return draft;
      } catch {
        // Over the browser's quota (a few MB): say so rather than pretend the text is safe.
        if (notKept) notKept.hidden = false;
        return null;
      }
    }

    function changed() {
      count();
      if (held) return; // an older draft waits for its answer: it is not written over
      clearTimeout(timer);
      timer = setTimeout(saveDraft, 400);
    }

    function offer(draft) {
      if (!prompt) return;
      held = true;
      var text = prompt.querySelector('[data-draft-text]');
      text.textContent = fill(text.getAttribute('data-draft-text'), [
        new Date(draft.savedAt).toLocaleString(document.documentElement.lang || undefined, { dateStyle: 'medium', timeStyle: 'short' }),
      ]);
      prompt.hidden = false;
      prompt.querySelector('[data-draft-restore]').addEventListener('click', function () {
        write(draft.values);
        prompt.hidden = true;
        held = false;
        saveDraft();
        form.elements.body.focus();
      });
      prompt.querySelector('[data-draft-discard]').addEventListener('click', function () {
        localStorage.removeItem(key);
        prompt.hidden = true;
        held = false;
        saveDraft();
      });
    }

    var draft = readJson(localStorage, key);
    if (draft && draft.values && !same(draft.values, initial)) offer(draft);
    else if (refused) saveDraft();
    count();

    form.addEventListener('input', changed);
    form.addEventListener('change', changed);

    // Ctrl+Enter (Cmd+Enter on a Mac) saves from any field: requestSubmit runs the same checks as the Save button.
    var shortcut = form.querySelector('[data-save-shortcut]');
    if (shortcut) shortcut.hidden = false; // said only where it works
    form.addEventListener('keydown', function (event) {
      if (event.key !== 'Enter' || !(event.ctrlKey || event.metaKey) || event.isComposing) return;
      event.preventDefault();
      form.requestSubmit(form.querySelector('button[type="submit"]'));
    });

    form.addEventListener('submit', function (event) {
      if (count()) {
        // Over a limit: nothing is sent, the text stays, the counter says which limit.
        event.preventDefault();
        counters.forEach(function (counter) {
          if (!counter.classList.contains('over')) return;
          counter.textContent = counter.getAttribute('data-too-long') + ' ' + counter.textContent;
          counter.setAttribute('role', 'alert');
        });
        form.elements[form.querySelector('.counter.over').getAttribute('data-count-for')].focus();
        return;
      }
      clearTimeout(timer);
      held = false;
      var sent = saveDraft();
      if (sent) sessionStorage.setItem(SUBMITTED, JSON.stringify({ key: key, savedAt: sent.savedAt }));
      submitting = true;
      if (!form.hasAttribute('data-refused')) return;
      // The session ended or changed since this page was made: its token is stale. Fetch the form's page again for
      // the current one (signed in again in another tab, say), then send.
      event.preventDefault();
      fetch(form.getAttribute('data-token-from'), { credentials: 'same-origin', headers: { accept: 'text/html' } })
        .then(function (res) {
          return res.text();
        })
        .then(function (html) {
          var input = new DOMParser().parseFromString(html, 'text/html').querySelector('input[name="_csrf"]');
          if (input) form.elements._csrf.value = input.value;
        })
        .catch(function () {})
        .then(function () {
          form.submit();
        });
    });

    window.addEventListener('beforeunload', function (event) {
      if (submitting || (!refused && same(read(), initial))) return;
      event.preventDefault();
      event.returnValue = '';
    });

    window.kiroku = window.kiroku || {};
    window.kiroku.noteForm = { form: form, read: read, count: count };
  }

  var form = document.querySelector('form[data-note-form]');
  try {
    if (!form) settleSubmitted();
    else {
      sessionStorage.removeItem(SUBMITTED);
      editor(form);
    }
  } catch {
    // Storage refused (private mode, disabled): the form still works as a plain form.
    if (form) form.removeAttribute('data-note-form');
  }
})();
