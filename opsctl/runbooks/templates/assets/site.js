/* The on-call site's only script: the search box and a warning when the page is out of date.
   Works from file:// and any static host: the page list comes from search-index.js. */
(function () {
  "use strict";
  var body = document.body;
  var root = body.getAttribute("data-root") || "";
  var input = document.getElementById("search");
  var results = document.getElementById("search-results");
  var list = document.getElementById("runbook-list");
  var count = document.getElementById("search-count");
  var pages = window.OPSCTL_PAGES || [];
  var total = list ? list.querySelectorAll("li[data-search]").length : 0;

  // Case and accents do not matter: "lucia" finds "Lucía".
  function fold(text) {
    return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/ı/g, "i");
  }
  function words(query) {
    return fold(query).split(/\s+/).filter(Boolean);
  }
  function matches(haystack, terms) {
    for (var i = 0; i < terms.length; i++) {
      if (haystack.indexOf(terms[i]) === -1) return false;
    }
    return true;
  }
  pages.forEach(function (page) {
    page.haystack = fold([page.title, page.team, page.kind, page.url].concat(page.owners).join(" "));
  });

  function filterList(terms) {
    if (!list) return;
    var shown = 0;
    list.querySelectorAll("li[data-search]").forEach(function (item) {
      var hit = matches(fold(item.getAttribute("data-search")), terms);
      item.hidden = !hit;
      if (hit) shown++;
    });
    if (count) {
      count.textContent = terms.length ? shown + " of " + total + " runbooks match." : total + " runbooks.";
    }
  }

  function showResults(terms) {
    if (!results) return;
    results.textContent = "";
    if (!terms.length) {
      results.hidden = true;
      return;
    }
    var found = pages.filter(function (page) { return matches(page.haystack, terms); }).slice(0, 12);
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "muted";
      none.textContent = "No runbook matches.";
      none.style.padding = "0.4rem 0.8rem";
      results.appendChild(none);
    }
    found.forEach(function (page) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + page.url;
      link.textContent = page.title;
      var meta = document.createElement("span");
      meta.className = "muted";
      meta.textContent = page.kind + " · " + page.team + " · " + page.owners.join(", ");
      link.appendChild(meta);
      item.appendChild(link);
      results.appendChild(item);
    });
    results.hidden = false;
  }

  if (input) {
    input.addEventListener("input", function () {
      var terms = words(input.value);
      filterList(terms);
      showResults(terms);
    });
    input.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        input.value = "";
        filterList([]);
        showResults([]);
      } else if (event.key === "Enter") {
        var first = results && results.querySelector("a");
        if (first) window.location.href = first.href;
      }
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "/" && document.activeElement !== input) {
        event.preventDefault();
        input.focus();
      }
    });
    document.addEventListener("click", function (event) {
      if (results && !results.contains(event.target) && event.target !== input) results.hidden = true;
    });
  }

  // The page shows who was on call when it was rendered; say so once that has changed.
  var until = Date.parse(body.getAttribute("data-valid-until") || "");
  var stale = document.getElementById("stale");
  if (stale && !isNaN(until) && Date.now() >= until) stale.hidden = false;
})();
