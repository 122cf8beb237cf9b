/* Connection watchdog of the wall: when no tick has reached the browser for three refresh
 * intervals (+5 s; 30 s before the first), cover the screen with "connection lost"; the clientside callback on the
 * tick's version store sets window.wallLastTick. A plain timer, so it works when the server is gone. */
(function () {
    setInterval(function () {
        var el = document.getElementById("wall-watchdog");
        var tick = document.getElementById("wall-body");
        if (!el || !tick) { return; }
        var refresh = Number(el.getAttribute("data-refresh")) || 5000;
        var last = window.wallLastTick || window.wallPageStart || (window.wallPageStart = Date.now());
        // Before its first tick a screen waits longer: that tick computes what nothing has asked for yet (seen
        // taking over 8 s while a first start loads its history), and "connection lost" would be untrue.
        var limit = window.wallLastTick ? 3 * refresh + 5000 : Math.max(3 * refresh + 5000, 30000);
        var lost = Date.now() - last > limit;
        el.className = lost ? "wall-watchdog on" : "wall-watchdog";
    }, 1000);
})();
