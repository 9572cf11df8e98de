// Supplier page: the catalog upload's progress bar, and a size check before anything is sent.
(function () {
  "use strict";

  function uploadForm(element) {
    return element && element.closest ? element.closest("form[data-upload-progress]") : null;
  }

  function progressBox(form) {
    var bar = document.getElementById(form.dataset.uploadProgress);
    return { bar: bar, box: bar ? bar.parentElement : null };
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = uploadForm(event.target);
    if (!form) return;
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    var max = parseInt(form.dataset.maxBytes, 10);
    if (file && max && file.size > max) {
      event.preventDefault();
      var target = document.getElementById("catalog-import");
      if (target) {
        var message = document.createElement("div");
        message.className = "flash error";
        message.setAttribute("role", "alert");
        message.textContent = "The file is larger than " + form.dataset.maxMb + " MB, the limit for catalog files. " +
          "Split it into smaller files and import them one after the other. Nothing was imported.";
        target.replaceChildren(message);
      }
      return;
    }
    var parts = progressBox(form);
    if (parts.bar) {
      parts.bar.value = 0;
      parts.box.hidden = false;
    }
  });

  document.addEventListener("htmx:xhr:progress", function (event) {
    var form = uploadForm(event.target);
    if (!form || !event.detail.lengthComputable) return;
    var parts = progressBox(form);
    if (!parts.bar) return;
    parts.bar.max = event.detail.total;
    parts.bar.value = event.detail.loaded;
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var form = uploadForm(event.target);
    if (!form) return;
    var parts = progressBox(form);
    if (parts.box) parts.box.hidden = true;
    if (event.detail.successful) form.reset();
  });
})();
