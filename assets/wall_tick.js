/* The wall's live tick, in the browser: every refresh interval, ask the server's tick route
 * (callbacks/wall.py, TICK_URL) what changed since the version this screen shows, and hand the
 * changed outputs to Dash; every other output is left as it is. Never two at once: the interval
 * is disabled while one is under way (as a server callback's `running` would), because Dash drops
 * the answer of a callback that was called again meanwhile. A failed or late answer changes
 * nothing, so the watchdog (wall_watch.js) greys the screen if answers stop coming. */
(function () {
    var TICK_URL = "/_wall-tick";
    var TIMEOUT_MS = 20000;
    var busy = false;
    window.dash_clientside = window.dash_clientside || {};
    window.dash_clientside.wall = Object.assign(window.dash_clientside.wall || {}, {
        tick: async function (n, pathname, search, shown, view) {
            var dc = window.dash_clientside;
            var count = dc.callback_context.outputs_list.length;  // read now: the context goes once this returns
            if (busy) { return dc.no_update; }
            busy = true;
            dc.set_props("wall-tick", {disabled: true});
            var abort = new AbortController();
            var timer = setTimeout(function () { abort.abort(); }, TIMEOUT_MS);
            try {
                var r = await fetch(TICK_URL, {
                    method: "POST",
                    credentials: "same-origin",
                    headers: {"Content-Type": "application/json"},
                    body: JSON.stringify({pathname: pathname, search: search, shown: shown, view: view}),
                    signal: abort.signal
                });
                if (r.status === 401) { window.location.reload(); return dc.no_update; }  // signed out: the sign-in page
                if (r.status !== 200) { return dc.no_update; }
                var changed = (await r.json()).set || {};
                var out = [];
                for (var i = 0; i < count; i++) {
                    out.push(Object.prototype.hasOwnProperty.call(changed, i) ? changed[i] : dc.no_update);
                }
                return out;
            } catch (e) {
                return dc.no_update;  // the server is away or slow: the watchdog shows it
            } finally {
                clearTimeout(timer);
                busy = false;
                dc.set_props("wall-tick", {disabled: false});
            }
        }
    });
})();
