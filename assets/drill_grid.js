/* Cell renderers of the drill-down pages' grids (dash-ag-grid, `cellRenderer: "DrillLink"`).
 * A link moves within the app as dcc.Link does (history.pushState, then Dash's location event): no reload.
 * The label is set as text (React escapes it); the href comes from the server, built from the row's id. */
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.DrillLink = function (props) {
    var href = props.data && props.data.href;
    if (!href) { return props.value === undefined || props.value === null ? "" : String(props.value); }
    return React.createElement(
        "a",
        {
            href: href,
            "data-appeal": props.data.id,
            onClick: function (e) {
                if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) { return; }
                e.preventDefault();
                window.history.pushState({}, "", href);
                window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
                window.scrollTo(0, 0);
            },
        },
        String(props.value)
    );
};

/* A light's dot before its word (the class comes from a fixed set chosen on the server). */
dagcomponentfuncs.DrillLight = function (props) {
    var lit = (props.data && props.data.lit) || "closed";
    return React.createElement("span", null,
        React.createElement("span", {className: "dot l-" + lit}, "\u25cf"), " ", String(props.value || ""));
};

/* The red list's 督办 and 催办 buttons: a click is reported to the server as the grid's cellRendererData
 * ({action, appeal}); the server checks the signed-in scope and asks for confirmation (callbacks/casework.py). */
dagcomponentfuncs.CaseButtons = function (props) {
    var appeal = props.data && props.data.id;
    if (!appeal) { return ""; }
    var labels = props.labels || {};
    return React.createElement("span", {className: "case-btns"}, ["open", "chase"].map(function (action) {
        return React.createElement("button", {
            key: action,
            className: "case-btn case-" + action,
            "data-case-action": action,
            "data-appeal": appeal,
            onClick: function () { props.setData({action: action, appeal: appeal}); },
        }, String(labels[action] || action));
    }));
};
