// distill-harness report: sortable tables and the example browser. Every piece of user
// text goes into the page through textContent, never as markup.
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("harness-data").textContent);
  var PAGE = 100;
  var FIELDS = ["pipeline", "failing", "label", "kind", "category", "disagree", "broken", "q"];

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  // -- sortable tables ----------------------------------------------------------------
  function sortBy(table, th) {
    var index = Array.prototype.indexOf.call(th.parentNode.children, th);
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = !th.classList.contains("asc");
    Array.prototype.forEach.call(th.parentNode.children, function (h) { h.classList.remove("asc", "desc"); });
    th.classList.add(ascending ? "asc" : "desc");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[index].getAttribute("data-value"), y = b.cells[index].getAttribute("data-value");
      var c = numeric ? parseFloat(x) - parseFloat(y) : String(x).localeCompare(String(y));
      return ascending ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-type]").forEach(function (th) {
      th.addEventListener("click", function () { sortBy(table, th); });
    });
  });

  // -- annotations --------------------------------------------------------------------
  function key(span) { return span[0] + ":" + span[1] + ":" + span[2]; }
  function labelClass(label) { return "ent " + (DATA.label_classes[label] || "l0"); }

  function spanText(text, spans, marks) {
    // spans: [[start, end, label]]; marks: key -> "fp" | "fn"
    var box = el("span", "txt");
    var sorted = (spans || []).slice().sort(function (a, b) { return a[0] - b[0] || b[1] - a[1]; });
    var at = 0;
    sorted.forEach(function (s) {
      if (s[0] < at) { return; }  // overlapping span: the first one is shown
      box.appendChild(document.createTextNode(text.slice(at, s[0])));
      var mark = el("mark", labelClass(s[2]) + (marks[key(s)] ? " " + marks[key(s)] : ""), text.slice(s[0], s[1]));
      mark.appendChild(el("span", "lab", s[2]));
      mark.title = s[2] + (marks[key(s)] === "fp" ? " (false positive)" : marks[key(s)] === "fn" ? " (missed)" : "");
      box.appendChild(mark);
      at = s[1];
    });
    box.appendChild(document.createTextNode(text.slice(at)));
    return box;
  }

  function catsBox(cats, threshold, marks, isGold) {
    var box = el("span", "txt");
    var on = Object.keys(cats || {}).filter(function (k) { return cats[k] >= (isGold ? 0.5 : threshold); }).sort();
    if (!on.length) { box.appendChild(el("span", "muted", "no label")); }
    on.forEach(function (k) {
      var chip = el("span", "cat " + (DATA.label_classes[k] || "l0") + (marks[k] ? " " + marks[k] : ""),
                    isGold ? k : k + " " + Number(cats[k]).toFixed(2));
      box.appendChild(chip);
    });
    Object.keys(marks).forEach(function (k) {
      if (marks[k] === "fn" && on.indexOf(k) < 0 && !isGold) { box.appendChild(el("span", "cat fn " + (DATA.label_classes[k] || "l0"), k + " missed")); }
    });
    return box;
  }

  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }

  // -- one example browser per suite -----------------------------------------------------
  function Browser(section) {
    var index = Number(section.getAttribute("data-suite"));
    this.index = index;
    this.doc = DATA.suites[index];
    this.form = section.querySelector("form.filters");
    this.list = section.querySelector("ol.examples");
    this.more = section.querySelector("button.more");
    this.link = section.querySelector("a.permalink");
    this.legend = section.querySelector(".legend");
    this.limit = PAGE;
    var names = Object.keys(this.doc.pipelines);
    this.distilled = names.filter(function (n) { return this.doc.pipelines[n].kind === "spacy"; }, this)[0];
    this.llm = names.filter(function (n) { return this.doc.pipelines[n].kind === "llm"; }, this)[0];
    this.order = [this.distilled, this.llm].concat(names).filter(function (n, i, all) { return n && all.indexOf(n) === i; });
    var self = this;
    var refresh = function () { self.limit = PAGE; self.render(true); };
    this.form.addEventListener("input", refresh);
    this.form.addEventListener("change", refresh);  // select boxes in some browsers fire only this
    this.form.addEventListener("submit", function (event) { event.preventDefault(); });
    this.more.addEventListener("click", function () { self.limit += PAGE; self.render(false); });
    var labels = {};
    (this.doc.examples.items || []).forEach(function (item) {
      (Array.isArray(item.gold) ? item.gold.map(function (s) { return s[2]; }) : Object.keys(item.gold)).forEach(function (l) { labels[l] = 1; });
    });
    Object.keys(labels).sort().forEach(function (l) { self.legend.appendChild(el("span", "cat " + (DATA.label_classes[l] || "l0"), l)); });
  }

  Browser.prototype.state = function () {
    var f = this.form.elements;
    return {pipeline: f.pipeline.value, failing: f.failing.checked, label: f.label.value, kind: f.kind.value,
            category: f.category.value, disagree: f.disagree.checked, broken: f.broken.checked, q: f.q.value};
  };

  Browser.prototype.apply = function (params) {
    var f = this.form.elements;
    FIELDS.forEach(function (name) {
      if (!(name in params)) { return; }
      var field = f[name];
      if (field.type === "checkbox") { field.checked = params[name] === "1"; } else { field.value = params[name]; }
    });
    this.limit = PAGE;
    this.render(false);
  };

  Browser.prototype.hash = function () {
    var s = this.state(), parts = ["s=" + this.index];
    FIELDS.forEach(function (name) {
      var v = s[name];
      if (v === true) { parts.push(name + "=1"); } else if (v && v !== false) { parts.push(name + "=" + encodeURIComponent(v)); }
    });
    return "#" + parts.join("&");
  };

  Browser.prototype.matches = function (item, s) {
    var errors = (item.errors || {})[s.pipeline] || [];
    var unanswered = item.predictions[s.pipeline] === null;
    if (s.failing && !errors.length && !unanswered) { return false; }
    if (s.kind && !errors.some(function (e) { return e.kind === s.kind && (!s.label || e.label === s.label); })) { return false; }
    if (s.label && !s.kind) {
      var pred = item.predictions[s.pipeline];
      var mentions = function (value) {
        if (!value) { return false; }
        return Array.isArray(value) ? value.some(function (sp) { return sp[2] === s.label; }) : (value[s.label] || 0) >= 0.5;
      };
      var hit = s.failing ? errors.some(function (e) { return e.label === s.label; }) : (mentions(item.gold) || mentions(pred));
      if (s.broken) { hit = item.broken.indexOf(s.label) >= 0; }
      if (!hit) { return false; }
    }
    if (s.category && item.category !== s.category) { return false; }
    if (s.broken && !item.broken.length) { return false; }
    if (s.disagree && (!this.llm || same(item.predictions[this.distilled], item.predictions[this.llm]))) { return false; }
    if (s.q && item.text.toLowerCase().indexOf(s.q.toLowerCase()) < 0) { return false; }
    return true;
  };

  Browser.prototype.row = function (item, who, value, marks, wrong, isGold) {
    var row = el("div", "row" + (wrong ? " wrong" : ""));
    var sim = this.doc.pipelines[who] && this.doc.pipelines[who].llm && this.doc.pipelines[who].llm.simulated;
    row.appendChild(el("div", "who", isGold ? "gold" : who + (sim ? " (SIMULATED)" : "")));
    if (value === null) {
      row.appendChild(el("span", "txt bad", "no answer (unparseable or empty)"));
    } else if (Array.isArray(value)) {
      row.appendChild(spanText(item.text, value, marks));
    } else {
      row.appendChild(catsBox(value, this.doc.threshold, marks, isGold));
    }
    return row;
  };

  Browser.prototype.item = function (item, s, position) {
    var li = el("li");
    var head = el("div", "ex-head");
    head.appendChild(el("span", null, "#" + (position + 1)));
    head.appendChild(el("span", null, "input hash " + item.input_hash));
    if (item.category) { head.appendChild(el("span", "tag " + item.category, "queue: " + item.category)); }
    if (item.broken.length) { head.appendChild(el("span", "tag regression", "newly broken: " + item.broken.join(", "))); }
    li.appendChild(head);
    var focus = s.pipeline, ner = Array.isArray(item.gold);
    var goldMarks = {};
    ((item.errors || {})[focus] || []).forEach(function (e) {
      if (e.kind !== "spurious") { goldMarks[ner ? key([e.start, e.end, e.label]) : e.label] = "fn"; }
    });
    li.appendChild(this.row(item, "gold", item.gold, goldMarks, false, true));
    var self = this;
    this.order.forEach(function (name) {
      if (!(name in item.predictions)) { return; }
      var value = item.predictions[name], marks = {};
      var goldKeys = {};
      if (ner) {
        item.gold.forEach(function (g) { goldKeys[key(g)] = 1; });
        (value || []).forEach(function (p) { if (!goldKeys[key(p)]) { marks[key(p)] = "fp"; } });
      } else {
        ((item.errors || {})[name] || []).forEach(function (e) { marks[e.label] = e.kind === "spurious" ? "fp" : "fn"; });
      }
      var wrong = value === null || ((item.errors || {})[name] || []).length > 0;
      li.appendChild(self.row(item, name, value, marks, wrong, false));
    });
    return li;
  };

  Browser.prototype.render = function (updateUrl) {
    var s = this.state(), self = this;
    var items = this.doc.examples.items || [];
    var hits = items.filter(function (item) { return self.matches(item, s); });
    this.list.textContent = "";
    var fragment = document.createDocumentFragment();
    hits.slice(0, this.limit).forEach(function (item, i) { fragment.appendChild(self.item(item, s, i)); });
    this.list.appendChild(fragment);
    this.form.elements.count.value = hits.length + " of " + items.length + " examples";
    this.list.setAttribute("data-count", String(hits.length));
    this.more.hidden = hits.length <= this.limit;
    this.link.href = this.hash();
    if (updateUrl && window.history && window.history.replaceState) { window.history.replaceState(null, "", this.hash()); }
  };

  var browsers = [];
  document.querySelectorAll("section.suite").forEach(function (section) { browsers.push(new Browser(section)); });

  function fromHash() {
    var text = window.location.hash.replace(/^#/, "");
    if (text.indexOf("s=") !== 0) { return false; }
    var params = {};
    text.split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) { params[part.slice(0, at)] = decodeURIComponent(part.slice(at + 1)); }
    });
    var browser = browsers[Number(params.s)];
    if (!browser) { return false; }
    browser.apply(params);
    browser.form.scrollIntoView();
    return true;
  }

  browsers.forEach(function (b) { b.render(false); });
  fromHash();
  window.addEventListener("hashchange", fromHash);
  document.body.setAttribute("data-ready", "1");
}());
