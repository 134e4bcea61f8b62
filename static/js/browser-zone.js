// Every page: remember the browser's time zone (cookie tripwire_zone) so that, while a person
// has chosen none in their profile, the server shows and reads their times in it
// (alerts_saas/accounts/times.py page_zone). When this page was drawn in another zone (the
// first page before the cookie, or after travelling), a GET page is reloaded once to show it.
(function () {
  "use strict";
  var script = document.currentScript;
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  if (!/^[A-Za-z0-9_+\-\/]+$/.test(zone)) return; // an IANA name: no quoting needed
  var value = zone;
  var secure = location.protocol === "https:" ? "; Secure" : "";
  document.cookie = "tripwire_zone=" + value + "; path=/; max-age=31536000; SameSite=Lax" + secure;
  if (!script || !script.dataset.reload || script.dataset.pageZone === zone) return;
  if (document.cookie.split("; ").indexOf("tripwire_zone=" + value) < 0) return; // cookies refused
  try {
    // Once per zone and tab: a zone the server does not know leaves the page in UTC.
    if (sessionStorage.getItem("tripwire-zone-reloaded") === zone) return;
    sessionStorage.setItem("tripwire-zone-reloaded", zone);
  } catch (e) {
    return;
  }
  location.reload();
})();
