(function () {
  "use strict";

  // Filters and search: a row shows when it passes the chosen filter and holds the query.
  var rows = Array.prototype.slice.call(document.querySelectorAll(".tests > .test"));
  var keys = rows.map(function (row) {
    var id = row.querySelector(".id");
    var seeds = row.getAttribute("data-seeds") || "";
    return ((id ? id.textContent : "") + " " + seeds).toLowerCase();
  });
  var form = document.querySelector(".filters");
  var search = document.getElementById("search");
  var shown = document.getElementById("shown");
  var empty = document.querySelector(".empty");

  function passes(row, filter) {
    if (filter === "all") {
      return true;
    }
    if (filter === "quarantined") {
      return row.getAttribute("data-quarantined") === "true";
    }
    return row.getAttribute("data-status") === filter;
  }

  function apply() {
    var checked = form.querySelector("input[name=filter]:checked");
    var filter = checked ? checked.value : "all";
    var query = search.value.trim().toLowerCase();
    var count = 0;
    rows.forEach(function (row, index) {
      var show = passes(row, filter) && (query === "" || keys[index].indexOf(query) !== -1);
      row.hidden = !show;
      if (show) {
        count += 1;
      }
    });
    shown.textContent = count + " of " + rows.length + " tests shown";
    empty.hidden = count !== 0;
  }

  if (form && search) {
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
    });
    search.addEventListener("input", apply);
  }

  // Copy buttons: the asynchronous clipboard where the page may use it, else a selected
  // text area and the copy command (older browsers, some file:// setups).
  var status = document.getElementById("copy-status");

  function copyBySelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (error) {
      done = false;
    }
    document.body.removeChild(area);
    return done;
  }

  function report(button, done) {
    button.focus();
    button.textContent = done ? "Copied" : "Copy failed";
    button.classList.toggle("done", done);
    if (status) {
      status.textContent = done ? "Copied to the clipboard" : "Could not copy: select the text instead";
    }
    window.setTimeout(function () {
      button.textContent = "Copy";
      button.classList.remove("done");
    }, 2000);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button[data-copy]");
    if (!button) {
      return;
    }
    var text = button.getAttribute("data-copy");
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(
        function () {
          report(button, true);
        },
        function () {
          report(button, copyBySelection(text));
        }
      );
    } else {
      report(button, copyBySelection(text));
    }
  });

  // Snapshot views (slider, side by side) and the slider over expected and actual.
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches(".views input[type=radio]")) {
      return;
    }
    var card = input.closest(".snapshot");
    card.querySelectorAll(".view").forEach(function (view) {
      view.hidden = view.getAttribute("data-view") !== input.value;
    });
  });

  document.addEventListener("input", function (event) {
    var input = event.target;
    if (!input.classList.contains("slider")) {
      return;
    }
    var view = input.closest(".view");
    var value = Number(input.value);
    view.querySelector("img.actual").style.clipPath = "inset(0 " + (100 - value) + "% 0 0)";
    view.querySelector(".divider").style.left = value + "%";
  });
})();
