// Renders the site's data tables (people, devices, assignments) from window.calcheckData.
// Every value is set with textContent: data from the estate can never become markup or script.
(function () {
  "use strict";
  var LIMIT = 500;

  function render(holder) {
    var data = (window.calcheckData || {})[holder.getAttribute("data-source")];
    if (!data) { return; }
    var rows = data.rows.slice();
    var sortColumn = -1, ascending = true;
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter " + rows.length + " rows";
    input.className = "cc-filter";
    input.setAttribute("aria-label", "Filter the table");
    var status = document.createElement("p");
    status.className = "cc-status";
    var tableElement = document.createElement("table");
    var head = tableElement.createTHead().insertRow();
    data.columns.forEach(function (name, index) {
      var th = document.createElement("th");
      th.textContent = name;
      th.tabIndex = 0;
      th.addEventListener("click", function () {
        ascending = sortColumn === index ? !ascending : true;
        sortColumn = index;
        rows.sort(function (a, b) {
          var x = a[index], y = b[index];
          var order = (typeof x === "number" && typeof y === "number") ? x - y : String(x).localeCompare(String(y));
          return ascending ? order : -order;
        });
        draw();
      });
      head.appendChild(th);
    });
    var body = tableElement.createTBody();

    function draw() {
      var needle = input.value.trim().toLowerCase();
      var shown = 0, matched = 0;
      body.textContent = "";
      rows.forEach(function (row) {
        if (needle && row.join(" ").toLowerCase().indexOf(needle) < 0) { return; }
        matched += 1;
        if (shown >= LIMIT) { return; }
        shown += 1;
        var tr = body.insertRow();
        row.forEach(function (value) { tr.insertCell().textContent = value; });
      });
      status.textContent = matched + " of " + rows.length + " rows" + (matched > shown ? ", first " + shown + " shown" : "");
    }

    input.addEventListener("input", draw);
    holder.appendChild(input);
    holder.appendChild(status);
    holder.appendChild(tableElement);
    draw();
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("div.cc-table[data-source]"), render);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
}());
