// Kehu's only script: small enhancements of pages that work without it.

// Instant search. A form marked `data-instant="ID"` refreshes the element
// with that id as the user types or changes a filter, without leaving the
// page: the same GET the form would send, its answer's element swapped in,
// the address updated. Without JavaScript the form submits as usual.
(function () {
  for (const form of document.querySelectorAll("form[data-instant]")) {
    const id = form.dataset.instant;
    let timer = null;
    let latest = 0;
    const refresh = async () => {
      const url = form.action.split("?")[0] + "?" + new URLSearchParams(new FormData(form));
      const ticket = ++latest;
      let html;
      try {
        const res = await fetch(url, { credentials: "same-origin" });
        if (!res.ok) return;
        html = await res.text();
      } catch (_) {
        return;
      }
      // A slower answer to an older query must not replace a newer one.
      if (ticket !== latest) return;
      const fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
      const current = document.getElementById(id);
      if (fresh && current) {
        current.replaceWith(fresh);
        history.replaceState(null, "", url);
      }
    };
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    };
    form.addEventListener("input", soon);
    form.addEventListener("change", soon);
  }
})();
