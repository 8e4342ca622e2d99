"""The GraphiQL page's own text: its example query, inline script and style (web/graphiql.py hashes
the script and style into the Content-Security-Policy and serves the page)."""

import json

EXAMPLE_QUERY = """\
# Welcome to Deploydeck. Press ▶ or Ctrl-Enter to run.
# Ctrl-Space completes; Docs (top left) lists all types.
# orderBy takes a list; one sort key needs no brackets.
query DeploymentsByP95 {
  deployments(first: 10, orderBy: {field: P95_LATENCY, direction: DESC}) {
    totalCount
    nodes {
      modelName
      version
      status
      health
      metrics {
        requestVolume
        p50Latency
        p95Latency
        errorRate
        nextUpdateAt
      }
    }
  }
}
"""

# The app: GraphiQL with the explorer plugin, posting to this page's own URL. No subscriptions
# (the API has none), no CSRF cookie (no CSRF middleware). The query, variables and operation name
# go to the URL so that a link shares them, and the server serves this page for such a link; the
# page reads them from the URL itself, so nothing of the URL is written into the HTML. Headers do
# not go to the URL (they may hold credentials).
SCRIPT = """
(function () {
  "use strict";
  const EXAMPLE_QUERY = __EXAMPLE_QUERY__;
  const params = new URLSearchParams(window.location.search);
  // What the link holds, read once: GraphiQL owns the editors after that, and the URL follows them.
  const linkedQuery = params.get("query") || EXAMPLE_QUERY;
  const linkedVariables = params.get("variables") || undefined;
  const linkedOperation = params.get("operationName");

  function updateURL(key, value) {
    if (value) {
      params.set(key, value);
    } else {
      params.delete(key);
    }
    const search = params.toString();
    history.replaceState(null, "", window.location.pathname + (search ? "?" + search : ""));
  }

  // GraphiQL learns the operation name 100 ms after an edit, so a run right after a paste would
  // send the previous one (400 "Unknown operation"). Check the name against the text being sent.
  function operationNameFor(query, wanted) {
    let names;
    try {
      names = GraphiQL.GraphQL.parse(query).definitions
        .filter(function (d) { return d.kind === "OperationDefinition"; })
        .map(function (d) { return d.name ? d.name.value : undefined; });
    } catch (error) {
      return wanted; // a syntax error: the server reports it, whatever the name
    }
    // One operation: its name, or none if anonymous. Several: the wanted one, else the first.
    return wanted && names.includes(wanted) ? wanted : names[0];
  }

  const send = GraphiQL.createFetcher({ url: window.location.pathname });
  function fetcher(request, options) {
    const operationName = operationNameFor(request.query, request.operationName);
    return send(Object.assign({}, request, { operationName: operationName }), options);
  }

  // Selects the link's operation once the editor exists (GraphiQL keeps it while it is in the
  // document). Not the `operationName` prop: that one would override every later choice.
  function SelectLinkedOperation() {
    const editors = GraphiQL.React.useEditorContext();
    const ready = Boolean(editors.queryEditor);
    React.useEffect(function () {
      if (ready && linkedOperation) {
        editors.setOperationName(linkedOperation);
      }
    }, [ready]);
    return null;
  }

  function App() {
    const plugins = React.useMemo(() => [GraphiQLPluginExplorer.explorerPlugin()], []);
    // query and variables are the initial contents only: a controlled `query` gains nothing
    // and re-renders everything on every edit.
    return React.createElement(GraphiQL, {
      fetcher: fetcher,
      plugins: plugins,
      defaultQuery: EXAMPLE_QUERY,
      query: linkedQuery,
      variables: linkedVariables,
      onEditQuery: function (value) {
        updateURL("query", value === EXAMPLE_QUERY ? "" : value);
      },
      onEditVariables: function (value) {
        updateURL("variables", value);
      },
      onEditOperationName: function (value) {
        updateURL("operationName", value);
      },
      toolbar: { additionalComponent: SelectLinkedOperation },
      inputValueDeprecation: true,
      isHeadersEditorEnabled: true,
    });
  }

  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(App));
})();
""".replace("__EXAMPLE_QUERY__", json.dumps(EXAMPLE_QUERY, ensure_ascii=False).replace("</", "<\\/"))

STYLE = """
body { height: 100%; margin: 0; width: 100%; overflow: hidden; }
#graphiql { height: 100vh; display: flex; }
.graphiql-explorer-actions select { margin-left: 4px; }
"""
