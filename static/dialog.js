(function () {
  "use strict";
  var close = document.getElementById("close-dialog");
  if (close) {
    close.addEventListener("click", function () { if (window.AP && AP.dialog) { AP.dialog.close(); } });
  }
})();
