// The site's tables: sorting (by mouse or keyboard, with aria-sort), a search box, filters and pages.
// Tables written into the page (holdings, findings by rule) are enhanced in place; people, devices, assignments and
// findings come from window.calcheckData and are drawn one page at a time. Every value is set with textContent: data
// from the estate can never become markup or script.
(function () {
  "use strict";
  var SIZES = [25, 50, 100, 500];

  function fold(value) {
    return String(value).normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  function number(value) {
    var text = String(value).trim();
    if (/^\d{4}-\d\d-\d\d$/.test(text)) { return Number(text.replace(/-/g, "")); }  // a date
    var match = /^-?[\d,]*\.?\d+/.exec(text);
    return match ? parseFloat(match[0].replace(/,/g, "")) : NaN;
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // One table: ``columns`` (names, which are numbers, which are filters) and ``rows`` ({cells, node, cls}).
  function Grid(table, columns, rows, pageSize, holder) {
    this.table = table;
    this.columns = columns;
    this.rows = rows;
    this.shown = rows;
    this.pageSize = pageSize;
    this.page = 0;
    this.sortColumn = -1;
    this.ascending = true;
    this.holder = holder;
    this.selects = {};
    rows.forEach(function (row) { row.text = fold(row.cells.join(" ")); });
  }

  Grid.prototype.headers = function () {
    var grid = this;
    var cells = this.table.tHead.rows[0].cells;
    Array.prototype.forEach.call(cells, function (th, index) {
      var button = element("button", "cc-sort", th.textContent);
      button.type = "button";
      button.title = "Sort by " + th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () { grid.sort(index); });
    });
  };

  Grid.prototype.sort = function (index) {
    this.ascending = this.sortColumn === index ? !this.ascending : true;
    this.sortColumn = index;
    this.page = 0;
    var numeric = this.columns[index].numeric, direction = this.ascending ? 1 : -1;
    this.rows.forEach(function (row, position) { row.position = position; });
    this.rows.sort(function (a, b) {
      var x = a.cells[index], y = b.cells[index], order;
      if (numeric) {
        var nx = number(x), ny = number(y);
        order = isNaN(nx) ? (isNaN(ny) ? 0 : 1) : (isNaN(ny) ? -1 : nx - ny);
      } else {
        order = String(x).localeCompare(String(y), undefined, {numeric: true, sensitivity: "base"});
      }
      return order * direction || a.position - b.position;
    });
    var grid = this;
    Array.prototype.forEach.call(this.table.tHead.rows[0].cells, function (th, i) {
      th.setAttribute("aria-sort", i === index ? (grid.ascending ? "ascending" : "descending") : "none");
    });
    this.filter();
  };

  Grid.prototype.controls = function (params) {
    var grid = this, bar = element("div", "cc-controls");
    this.search = element("input", "cc-filter");
    this.search.type = "search";
    this.search.placeholder = "Search " + this.rows.length + " rows (name, id, any text)";
    this.search.setAttribute("aria-label", "Search the table");
    this.search.value = params.get("q") || "";
    this.search.addEventListener("input", function () { grid.page = 0; grid.filter(); });
    bar.appendChild(this.search);
    this.columns.forEach(function (column, index) {
      if (!column.filter) { return; }
      var counts = {};
      grid.rows.forEach(function (row) { counts[row.cells[index]] = (counts[row.cells[index]] || 0) + 1; });
      var select = element("select", "cc-select");
      select.setAttribute("aria-label", "Filter by " + column.name);
      select.appendChild(new Option("Every " + column.name.toLowerCase(), ""));
      Object.keys(counts).sort().forEach(function (value) {
        select.appendChild(new Option(value + " (" + counts[value] + ")", value));
      });
      var wanted = params.get(column.name.toLowerCase());
      if (wanted !== null && Object.prototype.hasOwnProperty.call(counts, wanted)) { select.value = wanted; }
      select.addEventListener("change", function () { grid.page = 0; grid.filter(); });
      grid.selects[index] = select;
      bar.appendChild(select);
    });
    this.status = element("p", "cc-status");
    this.status.setAttribute("aria-live", "polite");
    this.holder.insertBefore(bar, this.table.parentNode);
    this.holder.insertBefore(this.status, this.table.parentNode);
    if (this.pageSize) {
      var pager = element("div", "cc-pager");
      this.previous = element("button", "cc-page", "Previous");
      this.next = element("button", "cc-page", "Next");
      this.previous.type = this.next.type = "button";
      this.previous.addEventListener("click", function () { grid.page -= 1; grid.draw(); });
      this.next.addEventListener("click", function () { grid.page += 1; grid.draw(); });
      this.size = element("select", "cc-select");
      this.size.setAttribute("aria-label", "Rows per page");
      SIZES.forEach(function (size) { grid.size.appendChild(new Option(size + " per page", String(size))); });
      this.size.value = String(this.pageSize);
      this.size.addEventListener("change", function () { grid.pageSize = Number(grid.size.value); grid.page = 0; grid.draw(); });
      this.pageLabel = element("span", "cc-page-label");
      [this.previous, this.pageLabel, this.next, this.size].forEach(function (node) { pager.appendChild(node); });
      this.holder.insertBefore(pager, this.table.parentNode.nextSibling);
    }
  };

  Grid.prototype.filter = function () {
    var terms = this.search ? fold(this.search.value).split(/\s+/).filter(Boolean) : [];
    var selects = this.selects, chosen = Object.keys(selects).filter(function (i) { return selects[i].value; });
    this.shown = this.rows.filter(function (row) {
      for (var t = 0; t < terms.length; t += 1) { if (row.text.indexOf(terms[t]) < 0) { return false; } }
      for (var c = 0; c < chosen.length; c += 1) { if (row.cells[chosen[c]] !== selects[chosen[c]].value) { return false; } }
      return true;
    });
    this.draw();
  };

  Grid.prototype.draw = function () {
    var size = this.pageSize || this.shown.length || 1;
    var pages = Math.max(1, Math.ceil(this.shown.length / size));
    this.page = Math.min(Math.max(this.page, 0), pages - 1);
    var first = this.page * size, visible = this.shown.slice(first, first + size);
    var body = this.table.tBodies[0], columns = this.columns;
    body.textContent = "";
    visible.forEach(function (row) {
      if (!row.node) {
        row.node = document.createElement("tr");
        if (row.cls) { row.node.className = row.cls; }
        row.cells.forEach(function (value, index) {
          var td = row.node.insertCell();
          fill(td, value, columns[index], row.lines && row.lines[index]);
          if (columns[index].numeric) { td.className = "cc-num"; } else if (columns[index].keep) { td.className = "cc-keep"; }
        });
      }
      body.appendChild(row.node);
    });
    if (this.status) {
      var filtered = this.shown.length === this.rows.length ? "" : " (of " + this.rows.length + ")";
      this.status.textContent = this.shown.length
        ? "Rows " + (first + 1) + "-" + (first + visible.length) + " of " + this.shown.length + filtered
        : "No rows match" + filtered;
    }
    if (this.pageLabel) {
      this.pageLabel.textContent = "Page " + (this.page + 1) + " of " + pages;
      this.previous.disabled = this.page === 0;
      this.next.disabled = this.page >= pages - 1;
    }
    this.table.setAttribute("data-ready", "");
  };

  // A cell's value as text, or as a severity's badge, or as a link to the page the column names (a rule's heading,
  // a commit), or as lines (``lines``: a list of texts): the value is only ever text, and a link is made only of a
  // value that is a plain name. A column with ``short`` shows only that many first characters of its values.
  function fill(td, value, column, lines) {
    var shown = column.short ? value.slice(0, column.short) : value;
    if (column.badge) {
      var badge = element("span", "cc-badge", value);
      if (/^[a-z]+$/.test(value)) { badge.className += " cc-badge-" + value; }
      td.appendChild(badge);
    } else if (column.link && /^[A-Za-z0-9._-]+$/.test(value)) {
      var wrap = element("span", "cc-nowrap"), anchor = element("a", "", shown);
      anchor.setAttribute("href", column.link + value);
      wrap.appendChild(anchor);
      td.appendChild(wrap);
    } else if (lines) {
      lines.forEach(function (line, index) {
        if (index) { td.appendChild(document.createElement("br")); }
        td.appendChild(document.createTextNode(line));
      });
    } else if (column.short) {
      td.appendChild(element("code", "", shown));
    } else {
      td.textContent = value;
    }
  }

  function columnsOf(table) {
    return Array.prototype.map.call(table.tHead.rows[0].cells, function (th) {
      return {name: th.textContent, numeric: th.classList.contains("cc-num"), keep: th.classList.contains("cc-keep"),
        filter: th.hasAttribute("data-filter")};
    });
  }

  function enhanceStatic(table, params) {
    if (table.hasAttribute("data-nosort") || !table.tHead || !table.tBodies.length) {
      table.setAttribute("data-ready", "");
      return;
    }
    var rows = Array.prototype.map.call(table.tBodies[0].rows, function (tr) {
      return {cells: Array.prototype.map.call(tr.cells, function (td) { return td.textContent; }), node: tr};
    });
    var pageSize = Number(table.getAttribute("data-page")) || 0;
    var grid = new Grid(table, columnsOf(table), rows, pageSize, table.parentNode.parentNode);
    grid.headers();
    if (pageSize) { grid.controls(params); }
    grid.filter();
  }

  function enhanceData(holder, params) {
    var data = (window.calcheckData || {})[holder.getAttribute("data-source")];
    if (!data) { return; }
    var scroll = element("div", "cc-scroll"), table = element("table", "cc-data");
    table.style.minWidth = Math.min(4 * data.columns.length, 40) + "rem";  // as markup.min_width
    var head = table.createTHead().insertRow();
    data.columns.forEach(function (name, index) {
      var kind = (data.numeric || []).indexOf(index) >= 0 ? "cc-num" : (data.keep || []).indexOf(index) >= 0 ? "cc-keep" : "";
      var th = element("th", kind, name);
      if ((data.filters || []).indexOf(index) >= 0) { th.setAttribute("data-filter", ""); }
      head.appendChild(th);
    });
    table.createTBody();
    scroll.appendChild(table);
    holder.appendChild(scroll);
    var rows = data.rows.map(function (cells, index) {
      var lines = null;
      var texts = cells.map(function (v, column) {
        if (!Array.isArray(v)) { return v === null ? "" : String(v); }
        (lines = lines || {})[column] = v.map(String);
        return lines[column].join(" ");
      });
      return {cells: texts, lines: lines, cls: (data.classes || [])[index]};
    });
    if (data.id) { table.id = data.id; }
    var columns = columnsOf(table), links = data.links || {};
    columns.forEach(function (column, index) {
      column.badge = (data.badges || []).indexOf(index) >= 0;
      column.link = Object.prototype.hasOwnProperty.call(links, String(index)) ? String(links[String(index)]) : "";
      column.short = Number((data.short || {})[String(index)]) || 0;
    });
    var grid = new Grid(table, columns, rows, data.page || 50, holder);
    grid.headers();
    grid.controls(params);
    grid.filter();
  }

  function start() {
    var params = new URLSearchParams(window.location.search);
    Array.prototype.forEach.call(document.querySelectorAll("table.cc-data"), function (t) { enhanceStatic(t, params); });
    Array.prototype.forEach.call(document.querySelectorAll("div.cc-table[data-source]"), function (h) { enhanceData(h, params); });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
