// Failed sign-ins in German only. Chainlit's login page shows a refused sign-in as a toast
// "<HTTP status text>: <detail>": English status text, then what the server said. The server's
// sentences are German (bot/signin.py); Chainlit's own detail for a wrong name or password is the
// code "credentialssignin". This keeps only the German sentence. It changes the text node's value
// (never the nodes React owns) and does nothing on other toasts.
(function () {
  "use strict";
  var PREFIX = /^[A-Z][A-Za-z ]+: (.+)$/;
  var WRONG = "credentialssignin";
  var WRONG_SENTENCE = "Kontoname oder Passwort stimmt nicht – bitte erneut versuchen.";

  function tidy(title) {
    var text = title.firstChild;
    if (!text || text.nodeType !== Node.TEXT_NODE) return;
    var match = PREFIX.exec(text.nodeValue || "");
    if (!match) return;
    text.nodeValue = match[1] === WRONG ? WRONG_SENTENCE : match[1];
  }

  function onLoginPage() {
    return /\/login\/?$/.test(window.location.pathname);
  }

  new MutationObserver(function () {
    if (!onLoginPage()) return;
    document.querySelectorAll("[data-sonner-toast] [data-title]").forEach(tidy);
  }).observe(document.documentElement, { childList: true, subtree: true, characterData: true });
})();
