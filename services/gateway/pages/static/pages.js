// Progressive enhancement of the award page: a "Copy link" button beside the link, which is
// shown and selectable without JavaScript. Nothing else on the pages needs a script.
(function () {
  "use strict";
  function setUp(button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    var status = document.getElementById("copy-status");
    if (!target || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(target.value).then(
        function () {
          if (status) {
            status.textContent = "Link copied.";
          }
        },
        function () {
          target.select();
          if (status) {
            status.textContent = "Press Ctrl+C (or Cmd+C) to copy the selected link.";
          }
        }
      );
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var buttons = document.querySelectorAll("[data-copy-target]");
    for (var i = 0; i < buttons.length; i += 1) {
      setUp(buttons[i]);
    }
  });
})();
