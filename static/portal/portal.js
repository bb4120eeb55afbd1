/* Pet Store API portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  // --- copy buttons: <button data-copy-target="#id"> copies that element's text ----------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(area);
      if (ok) { resolve(); } else { reject(new Error("copy failed")); }
    });
  }

  function setUpCopyButtons(root) {
    root.querySelectorAll("[data-copy-target]").forEach(function (button) {
      button.hidden = false;
      if (button.dataset.copyReady) { return; }
      button.dataset.copyReady = "1";
      var label = button.textContent;
      button.addEventListener("click", function () {
        var target = document.querySelector(button.dataset.copyTarget);
        if (!target) { return; }
        copyText(target.textContent.trim()).then(function () {
          button.textContent = "Copied!";
        }, function () {
          button.textContent = "Press Ctrl+C";
          var range = document.createRange();
          range.selectNodeContents(target);
          var selection = window.getSelection();
          selection.removeAllRanges();
          selection.addRange(range);
        }).then(function () {
          window.setTimeout(function () { button.textContent = label; }, 2000);
        });
      });
    });
  }

  // --- pygal charts: native SVG tooltips from the values pygal writes as <desc> ---------------
  function setUpChartTooltips(root) {
    root.querySelectorAll(".chart svg .tooltip-trigger").forEach(function (shape) {
      var group = shape.parentNode;
      if (!group || group.querySelector("title")) { return; }
      var value = group.querySelector("desc.value");
      var label = group.querySelector("desc.label");
      if (!value) { return; }
      var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = (label ? label.textContent + ": " : "") + value.textContent;
      group.insertBefore(title, group.firstChild);
    });
  }

  // --- dashboard: poll until the first API call arrives, then refresh the usage panel ---------
  function setUpFirstCallPolling() {
    var status = document.querySelector("[data-first-call-url]");
    if (!status) { return; }
    var url = status.dataset.firstCallUrl;
    var interval = parseInt(status.dataset.interval, 10) || 3000;
    var started = Date.now();

    function refreshPanel() {
      var panel = document.getElementById("usage-panel");
      if (!panel || !panel.dataset.panelUrl) { return Promise.resolve(); }
      return fetch(panel.dataset.panelUrl, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var holder = document.createElement("div");
          holder.innerHTML = html;
          var fresh = holder.querySelector("#usage-panel");
          if (fresh) {
            panel.replaceWith(fresh);
            setUpChartTooltips(fresh);
          }
        });
    }

    function received(when) {
      status.classList.add("is-done");
      var text = status.querySelector("[data-first-call-text]");
      if (text) { text.textContent = "First call received"; }
      if (when) { status.setAttribute("title", new Date(when).toLocaleString()); }
      document.querySelectorAll("[data-first-call-check]").forEach(function (check) {
        check.classList.add("is-done");
        check.textContent = "✓";
      });
      refreshPanel();
    }

    function poll() {
      if (document.hidden) { return schedule(); }
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (body) {
          if (body && body.received) { received(body.first_call_at); } else { schedule(); }
        }, schedule);
    }

    function schedule() {
      // Every few seconds at first; after ten minutes of waiting, every 15 s is enough.
      var wait = Date.now() - started > 600000 ? Math.max(interval, 15000) : interval;
      window.setTimeout(poll, wait);
    }

    schedule();
  }

  // --- pricing calculator: log-scale slider + exact number, priced by the quote endpoint ------
  var MAX_CALLS = 10000000;
  var SLIDER_STEPS = 600; // position 0 is 0 calls; 1..600 span 10 to 10M on a log scale

  function niceRound(value) {
    if (value < 100) { return Math.round(value); }
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)) - 1);
    return Math.round(value / magnitude) * magnitude;
  }

  function sliderToCalls(position) {
    if (position <= 0) { return 0; }
    return Math.min(MAX_CALLS, niceRound(Math.pow(10, 1 + (6 * position) / SLIDER_STEPS)));
  }

  function callsToSlider(calls) {
    if (calls <= 0) { return 0; }
    var position = ((Math.log10(Math.max(calls, 10)) - 1) * SLIDER_STEPS) / 6;
    return Math.max(1, Math.min(SLIDER_STEPS, Math.round(position)));
  }

  var numberFormat = new Intl.NumberFormat("en-US");
  var moneyFormat = new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });

  // A negative amount (a discount) with a true minus sign, as the server renders it.
  function money(text) { return moneyFormat.format(Number(text)).replace(/^-/, "\u2212"); }

  function renderQuote(card, quote) {
    var total = card.querySelector("[data-quote-total]");
    var lines = card.querySelector("[data-quote-lines]");
    var note = card.querySelector("[data-quote-note]");
    var suggestion = card.querySelector("[data-quote-suggestion]");
    card.querySelector("[data-quote-plan]").textContent = quote.plan_name;
    total.textContent = quote.total === null ? "Custom" : money(quote.total);
    lines.replaceChildren();
    quote.lines.forEach(function (line) {
      var item = document.createElement("li");
      var description = document.createElement("span");
      description.textContent = line.description;
      var amount = document.createElement("span");
      amount.className = "amount";
      amount.textContent = line.amount ? money(line.amount) : "";
      item.append(description, amount);
      lines.appendChild(item);
    });
    note.hidden = !(quote.capped || quote.custom);
    if (quote.capped) {
      note.textContent = "Part of this volume is above the plan's hard cap: those calls would be refused, not billed.";
    } else if (quote.custom) {
      note.textContent = "This plan is priced per contract: contact sales for a quote.";
    }
    suggestion.replaceChildren();
    var calls = Number(card.dataset.calls || 0);
    if (quote.suggestion) {
      var text = document.createElement("span");
      text.textContent = "Cheaper for " + numberFormat.format(calls) + " calls: " +
        quote.suggestion.plan_name + " at " + money(quote.suggestion.total) + " a month. ";
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.dataset.choosePlan = quote.suggestion.plan;
      button.textContent = "Show " + quote.suggestion.plan_name;
      suggestion.className = "banner banner-info suggestion";
      suggestion.append(text, button);
    } else if (!quote.custom && !quote.capped) {
      suggestion.className = "banner banner-success suggestion";
      suggestion.textContent = quote.plan_name + " is the cheapest plan for " + numberFormat.format(calls) + " calls a month.";
    } else {
      suggestion.className = "suggestion";
    }
  }

  function setUpCalculator() {
    var form = document.getElementById("calculator-form");
    if (!form) { return; }
    var card = document.getElementById("quote-card");
    var slider = form.querySelector("[data-calls-slider]");
    var number = form.querySelector("input[name=calls]");
    var promotionCode = form.querySelector("input[name=promotion_code]");
    var error = card.querySelector("[data-quote-error]");
    var endpoint = form.dataset.quoteUrl;
    var timer = null;
    var sequence = 0;

    slider.hidden = false;
    form.querySelectorAll("[data-slider-scale]").forEach(function (el) { el.hidden = false; });

    function currentPlan() {
      var checked = form.querySelector("input[name=plan]:checked");
      return checked ? checked.value : "";
    }

    function describe(calls) {
      slider.setAttribute("aria-valuetext", numberFormat.format(calls) + " calls a month");
    }

    function update() {
      var calls = parseInt(number.value, 10);
      if (isNaN(calls) || calls < 0 || calls > MAX_CALLS) {
        error.hidden = false;
        error.textContent = "Enter a number of calls from 0 to " + numberFormat.format(MAX_CALLS) + ".";
        return;
      }
      var plan = currentPlan();
      var mine = ++sequence;
      card.setAttribute("aria-busy", "true");
      var code = promotionCode ? promotionCode.value.trim() : "";
      var url = endpoint + "?plan=" + encodeURIComponent(plan) + "&calls=" + calls;
      if (code) { url += "&promotion_code=" + encodeURIComponent(code); }
      fetch(url, { headers: { "Accept": "application/json" } })
        .then(function (response) {
          return response.json().then(function (body) { return { ok: response.ok, body: body }; });
        })
        .then(function (result) {
          if (mine !== sequence) { return; }
          card.setAttribute("aria-busy", "false");
          if (!result.ok) {
            error.hidden = false;
            error.textContent = result.body.message || "The estimate could not be computed.";
            return;
          }
          error.hidden = true;
          card.dataset.calls = String(calls);
          renderQuote(card, result.body);
          var params = new URLSearchParams({ plan: plan, calls: String(calls) });
          if (code) { params.set("promotion_code", code); }
          window.history.replaceState(null, "", window.location.pathname + "?" + params.toString());
        })
        .catch(function () {
          if (mine !== sequence) { return; }
          card.setAttribute("aria-busy", "false");
          error.hidden = false;
          error.textContent = "The estimate could not be loaded. Check your connection and try again.";
        });
    }

    function later() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, 120);
    }

    slider.value = String(callsToSlider(parseInt(number.value, 10) || 0));
    describe(parseInt(number.value, 10) || 0);

    slider.addEventListener("input", function () {
      var calls = sliderToCalls(parseInt(slider.value, 10));
      number.value = String(calls);
      describe(calls);
      later();
    });
    number.addEventListener("input", function () {
      var calls = parseInt(number.value, 10);
      if (!isNaN(calls)) {
        slider.value = String(callsToSlider(calls));
        describe(calls);
      }
      later();
    });
    if (promotionCode) { promotionCode.addEventListener("input", later); }
    form.addEventListener("change", function (event) {
      if (event.target.name === "plan") { update(); }
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      update();
    });
    card.addEventListener("click", function (event) {
      var choose = event.target.closest("[data-choose-plan]");
      if (!choose) { return; }
      event.preventDefault();
      var radio = form.querySelector("input[name=plan][value='" + choose.dataset.choosePlan + "']");
      if (radio) {
        radio.checked = true;
        radio.focus();
        update();
      }
    });
  }

  // --- language tabs: <div data-lang-tabs> of <div data-lang="go" data-label="Go"> panels ------
  // Without JavaScript every panel shows, one under the other. With it, one language shows at a
  // time, and choosing a language switches every group on the page (and is remembered).
  function setUpLanguageTabs(root) {
    var groups = Array.prototype.slice.call(root.querySelectorAll("[data-lang-tabs]"));
    if (!groups.length) { return; }
    var stored = null;
    try { stored = window.localStorage.getItem("petstore-lang"); } catch (e) { stored = null; }

    function select(lang, remember) {
      groups.forEach(function (group) {
        if (!group.querySelector("[data-lang='" + lang + "']")) { return; }  // keeps its choice
        group.querySelectorAll("[data-lang]").forEach(function (panel) {
          var on = panel.dataset.lang === lang;
          panel.hidden = !on;
          var tab = group.querySelector("#" + panel.id + "-tab");
          tab.setAttribute("aria-selected", on ? "true" : "false");
          tab.tabIndex = on ? 0 : -1;
        });
      });
      if (remember) {
        try { window.localStorage.setItem("petstore-lang", lang); } catch (e) { /* private mode */ }
      }
    }

    groups.forEach(function (group, n) {
      var list = document.createElement("div");
      list.className = "lang-tablist";
      list.setAttribute("role", "tablist");
      list.setAttribute("aria-label", group.dataset.langTabs);
      group.querySelectorAll("[data-lang]").forEach(function (panel, i) {
        panel.id = panel.id || "lang-" + n + "-" + i;
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", panel.id + "-tab");
        var label = panel.querySelector(".code-label");
        if (label) { label.hidden = true; }
        var tab = document.createElement("button");
        tab.type = "button";
        tab.id = panel.id + "-tab";
        tab.className = "lang-tab";
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-controls", panel.id);
        tab.textContent = panel.dataset.label;
        tab.addEventListener("click", function () { select(panel.dataset.lang, true); });
        tab.addEventListener("keydown", function (event) {
          var tabs = Array.prototype.slice.call(list.querySelectorAll("[role=tab]"));
          var at = tabs.indexOf(tab);
          var next = event.key === "ArrowRight" ? at + 1 : event.key === "ArrowLeft" ? at - 1 : null;
          if (next === null) { return; }
          event.preventDefault();
          var target = tabs[(next + tabs.length) % tabs.length];
          target.click();
          target.focus();
        });
        list.appendChild(tab);
      });
      group.insertBefore(list, group.firstChild);
      group.classList.add("is-tabbed");
    });
    var first = groups[0].querySelector("[data-lang]").dataset.lang;
    var wanted = stored && root.querySelector("[data-lang='" + stored + "']") ? stored : first;
    groups.forEach(function (group) {
      group.querySelectorAll("[data-lang]").forEach(function (panel, i) { panel.hidden = i > 0; });
    });
    select(wanted, false);
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpCopyButtons(document);
    setUpChartTooltips(document);
    setUpFirstCallPolling();
    setUpCalculator();
    setUpLanguageTabs(document);
  });
})();
