// The ops console's charts: loads uPlot (served by Kiroku, see configure-web.ts), fetches
// /admin/metrics for the chosen range and draws one small chart per figure. Runs under the
// strict CSP: this file carries the page's nonce, and uPlot is loaded by it ('strict-dynamic').
(function () {
  'use strict';
  var root = document.getElementById('charts');
  if (!root) return;
  var COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];

  // Times as the rest of the console writes them: the account's language and time zone (not the browser's), 24-hour.
  var locale = root.getAttribute('data-locale') || 'en-GB';
  var timeZone = root.getAttribute('data-time-zone') || 'UTC';
  var range = root.getAttribute('data-range') || 'hour';
  function formatter(options) {
    var format = new Intl.DateTimeFormat(locale, Object.assign({ timeZone: timeZone, hourCycle: 'h23' }, options));
    return function (seconds) {
      return format.format(seconds * 1000);
    };
  }
  var tick = formatter(range === 'hour' || range === 'day' ? { hour: '2-digit', minute: '2-digit' } : { month: 'numeric', day: 'numeric', hour: '2-digit' });
  var full = formatter({ month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });

  function load(src) {
    return new Promise(function (resolve, reject) {
      var s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = reject;
      document.head.appendChild(s);
    });
  }

  function draw(data) {
    var figures = root.querySelectorAll('[data-chart]');
    figures.forEach(function (figure) {
      var lines = data.charts[figure.getAttribute('data-chart')] || [];
      var plot = figure.querySelector('.plot');
      plot.textContent = '';
      var hasData = lines.some(function (l) {
        return l.values.some(function (v) {
          return v !== null;
        });
      });
      if (!hasData) {
        var p = document.createElement('p');
        p.className = 'muted small empty';
        p.textContent = root.getAttribute('data-empty');
        plot.appendChild(p);
        return;
      }
      var width = Math.max(240, plot.clientWidth);
      new uPlot(
        {
          width: width,
          height: 160,
          legend: { show: lines.length > 1 },
          cursor: { drag: { x: false, y: false } },
          scales: {
            x: { time: true },
            y: {
              range: function (u, min, max) {
                return [0, Math.max(max * 1.1, 1)];
              },
            },
          },
          axes: [
            {
              stroke: '#6b7280',
              grid: { stroke: '#e5e7eb' },
              values: function (u, splits) {
                return splits.map(tick);
              },
            },
            { stroke: '#6b7280', grid: { stroke: '#e5e7eb' }, size: 48 },
          ],
          series: [
            {
              label: root.getAttribute('data-time-label'),
              value: function (u, v) {
                return v == null ? '' : full(v);
              },
            },
          ].concat(
            lines.map(function (l, i) {
              return { label: l.name, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: false, points: { show: false } };
            }),
          ),
        },
        [data.t].concat(
          lines.map(function (l) {
            return l.values;
          }),
        ),
        plot,
      );
    });
    root.setAttribute('data-ready', 'true');
  }

  Promise.all([
    load('/static/vendor/uPlot.iife.min.js'),
    fetch('/admin/metrics?range=' + encodeURIComponent(range), {
      credentials: 'same-origin',
      headers: { accept: 'application/json' },
    }).then(function (r) {
      if (!r.ok) throw new Error('metrics ' + r.status);
      return r.json();
    }),
  ])
    .then(function (results) {
      draw(results[1]);
    })
    .catch(function (error) {
      root.setAttribute('data-error', String((error && error.message) || error));
    });
})();
