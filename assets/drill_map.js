/* Map styling of the drill-down pages, read by dash-leaflet through {"variable": "drill.<name>"}.
 * The sub-area layer's hideout: {vals: {code: value}, max: top value, rate: bool, fig: name}.
 * Nothing here puts text into HTML: tooltips and popups come escaped from the server. */
window.drill = Object.assign({}, window.drill, {
    ramp: ["#16324f", "#1f5f8b", "#2c8fb8", "#f4c430", "#ff8c42", "#ff4d4f"],

    colour: function (v, h) {
        if (v === undefined || v === null || !h || !h.max) { return null; }
        var x = Math.max(0, Math.min(1, v / h.max));
        var r = window.drill.ramp;
        return r[Math.min(r.length - 1, Math.floor(x * r.length))];
    },

    area: function (feature, context) {
        var h = context.hideout || {};
        var c = window.drill.colour((h.vals || {})[feature.properties.code], h);
        return {color: "#7aa7d9", weight: 1.2, fillColor: c || "#0e1828", fillOpacity: c ? 0.7 : 0.2};
    },

    point: function (feature, latlng, context) {
        var h = context.hideout || {};
        var v = (h.vals || {})[feature.properties.code];
        var c = window.drill.colour(v, h);
        return L.circleMarker(latlng, {radius: c ? 9 : 5, color: "#e6edf7", weight: 1, fillColor: c || "#52627a", fillOpacity: 0.9});
    },

    outline: function () {
        return {color: "#e0f2fe", weight: 2.5, fill: false};
    },

    red: function (feature, latlng) {
        return L.circleMarker(latlng, {radius: 6, color: "#ffffff", weight: 2, fillColor: "#ff4d4f", fillOpacity: 1});
    },

    // A same-event group: one marker with its count (a number, never text); orange once it met 三天三单.
    group: function (feature, latlng) {
        var n = parseInt(feature.properties.count, 10) || 0;
        // Its size follows the screen (22 px on a 1366 wall, 56 on a 4K one), so markers do not bury a small map.
        var k = Math.max(0.8, Math.min(2, window.innerWidth / 1920)), s = Math.round(28 * k);
        var cls = "group-marker" + (feature.properties.burst ? " burst" : "");
        var style = "display: block; font-size: " + Math.round(14 * k) + "px; line-height: " + (s - 4) + "px";
        return L.marker(latlng, {icon: L.divIcon({className: cls, html: "<span style=\"" + style + "\">" + String(n) + "</span>", iconSize: [s, s]})});
    }
});
