// Small behaviours without inline handlers (the Content-Security-Policy forbids them).
document.addEventListener("change", function (event) {
  if (event.target.matches("select[data-autosubmit]")) {
    event.target.form.submit();
  }
});

document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) {
    window.print();
  }
});

// The live log: it follows new lines while the reader is at the bottom (the « Suivre » box
// ticked), and stops following when they scroll up; scrolling back to the bottom or ticking
// the box follows again.
(function () {
  var SLACK = 8; // pixels from the bottom that still count as "at the bottom"
  var programmatic = false;

  function logBox() {
    return document.getElementById("log-lines");
  }
  function followBox() {
    return document.getElementById("log-follow");
  }
  function atBottom(box) {
    return box.scrollHeight - box.scrollTop - box.clientHeight <= SLACK;
  }
  function toBottom() {
    var box = logBox();
    var follow = followBox();
    if (box && (!follow || follow.checked)) {
      programmatic = true;
      box.scrollTop = box.scrollHeight;
      window.requestAnimationFrame(function () {
        programmatic = false;
      });
    }
  }

  document.addEventListener(
    "scroll",
    function (event) {
      var box = logBox();
      var follow = followBox();
      if (!box || event.target !== box || !follow || programmatic) {
        return;
      }
      follow.checked = atBottom(box);
    },
    true
  );
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-log-follow]") && event.target.checked) {
      toBottom();
    }
  });
  // After every swap (new lines, or the final state of the page), keep following.
  document.addEventListener("htmx:afterSettle", toBottom);
  document.addEventListener("DOMContentLoaded", toBottom);
})();
