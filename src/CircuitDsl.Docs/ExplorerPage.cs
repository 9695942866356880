using System.Globalization;
using System.Text;
using System.Text.Json;
using CircuitDsl.Circuits;

namespace CircuitDsl.Docs;

/// <summary>
/// The interactive page of <c>circuitdsl view</c>: one self-contained HTML file (inline CSS and script, the data as
/// inline JSON, nothing fetched) with an attention view in the manner of CircuitsVis — hover over a token to see where
/// every head attends from it, click to keep it — beside the logit lens and each head's direct logit attribution, both
/// following the chosen position. It draws an <see cref="Exploration"/>; it computes nothing.
/// </summary>
public static class ExplorerPage
{
    /// <summary>The page for <paramref name="data"/>, titled <paramref name="title"/>.</summary>
    /// <param name="title">The page's title, e.g. the model folder's name.</param>
    /// <param name="data">What the runtime measured on one sequence.</param>
    /// <param name="tokenText">How a token id is written (its string once the model has a tokenizer); default: the id.</param>
    public static string Render(string title, Exploration data, Func<int, string>? tokenText = null)
    {
        ArgumentNullException.ThrowIfNull(title);
        ArgumentNullException.ThrowIfNull(data);
        tokenText ??= t => t.ToString(CultureInfo.InvariantCulture);
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n")
            .Append("<title>").Append(Fmt.Xml(title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n<body>\n")
            .Append("<h1>").Append(Fmt.Xml(title)).Append("</h1>\n")
            .Append(Section("attention", "Attention",
                "Hover over a token to see where every head attends from it; click to keep it (click again to let go). "
                + "Each row is one head; a key token's shade is the attention weight on it."))
            .Append("<p class=\"query\" id=\"query\"></p>\n<div class=\"tokens\" id=\"tokens\"></div>\n<div id=\"heads\"></div>\n</section>\n")
            .Append(Section("lens", "Logit lens",
                "The most likely next token read from the residual stream after each layer, and the log-probability of the "
                + "actual next token (shade: darker is more likely). The chosen position's column is outlined."))
            .Append("<table class=\"grid\" id=\"lens-table\"></table>\n</section>\n")
            .Append(Section("attribution", "Direct logit attribution",
                "What each head's output adds, through the final LayerNorm, to the logit of the actual next token at the "
                + "chosen position (red raises it, blue lowers it), strongest first."))
            .Append("<p class=\"query\" id=\"attribution-query\"></p>\n<table class=\"grid\" id=\"attribution-table\"></table>\n</section>\n")
            .Append("<script type=\"application/json\" id=\"data\">").Append(Json(data, tokenText)).Append("</script>\n")
            .Append("<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static string Section(string id, string heading, string help) =>
        $"<section id=\"{id}\">\n<h2>{Fmt.Xml(heading)}</h2>\n<p class=\"help\">{Fmt.Xml(help)}</p>\n";

    private static string Json(Exploration data, Func<int, string> tokenText)
    {
        int layers = data.Patterns.Dim(0), heads = data.Patterns.Dim(1), n = data.Tokens.Length;
        var lensRows = data.LensLabels.Count;
        return JsonSerializer.Serialize(new
        {
            tokens = data.Tokens.Select(tokenText),
            heads = Enumerable.Range(0, layers * heads).Select(i => $"{i / heads}.{i % heads}"),
            patterns = Enumerable.Range(0, layers * heads).Select(i =>
                Enumerable.Range(0, n).Select(q => Enumerable.Range(0, q + 1).Select(k => Round(data.Patterns[i / heads][i % heads][q, k])))),
            lens = Enumerable.Range(0, lensRows).Select(r => new
            {
                label = data.LensLabels[r],
                top = Enumerable.Range(0, n).Select(p => tokenText(data.LensTop[r, p])),
                logProb = Enumerable.Range(0, n - 1).Select(p => Round(data.LensLogProb[r, p])),
            }),
            attribution = Enumerable.Range(0, layers * heads).Select(i =>
                Enumerable.Range(0, n - 1).Select(p => Round(data.HeadAttribution[i / heads][i % heads].Span[p]))),
        });
    }

    private static double Round(float v) => Math.Round(v, 5);

    private const string Style = """
        body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 24px auto; max-width: 1100px; padding: 0 16px; }
        h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
        .help { color: #555; max-width: 70ch; }
        .query { font-variant-numeric: tabular-nums; min-height: 1.4em; }
        .tokens, .keys { display: flex; flex-wrap: wrap; gap: 2px; }
        .token, .key { font: 13px ui-monospace, SFMono-Regular, Menlo, monospace; padding: 2px 5px; border: 1px solid #d0d0d0; border-radius: 3px; white-space: pre; }
        .token { cursor: pointer; background: #fafafa; }
        .token.selected { border-color: #1d1d1f; outline: 2px solid #e08e0b; }
        .head { display: flex; align-items: center; gap: 8px; margin: 3px 0; }
        .head-label { width: 3.5em; text-align: right; color: #555; font-variant-numeric: tabular-nums; }
        .key.query-pos { border-color: #e08e0b; }
        .key.future { color: #bbb; border-style: dashed; }
        table.grid { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
        table.grid th, table.grid td { padding: 2px 6px; border: 1px solid #e2e2e2; text-align: center; }
        table.grid td.selected, table.grid th.selected { outline: 2px solid #e08e0b; outline-offset: -2px; }
        """;

    private const string Script = """
        (function () {
          "use strict";
          var data = JSON.parse(document.getElementById("data").textContent);
          var n = data.tokens.length, locked = null;

          function el(tag, cls, text) {
            var e = document.createElement(tag);
            if (cls) e.className = cls;
            if (text !== undefined) e.textContent = text;
            return e;
          }
          function shade(weight) { return "rgba(99, 57, 166, " + weight.toFixed(3) + ")"; }
          function ink(weight) { return weight > 0.55 ? "#ffffff" : "#1d1d1f"; }
          function diverging(value, limit) {
            var t = limit > 0 ? Math.max(-1, Math.min(1, value / limit)) : 0;
            return t >= 0 ? "rgba(202, 0, 32, " + t.toFixed(3) + ")" : "rgba(5, 113, 176, " + (-t).toFixed(3) + ")";
          }

          var strip = document.getElementById("tokens");
          data.tokens.forEach(function (text, p) {
            var t = el("span", "token", text);
            t.dataset.pos = String(p);
            t.title = "position " + p;
            t.addEventListener("mouseenter", function () { if (locked === null) show(p); });
            t.addEventListener("mouseleave", function () { if (locked === null) show(n - 1); });
            t.addEventListener("click", function () { locked = locked === p ? null : p; show(p); });
            strip.appendChild(t);
          });

          var rows = document.getElementById("heads");
          data.heads.forEach(function (name) {
            var row = el("div", "head");
            row.dataset.head = name;
            row.appendChild(el("span", "head-label", name));
            var keys = el("div", "keys");
            data.tokens.forEach(function (text, k) {
              var key = el("span", "key", text);
              key.dataset.pos = String(k);
              keys.appendChild(key);
            });
            row.appendChild(keys);
            rows.appendChild(row);
          });

          var lens = document.getElementById("lens-table");
          var header = el("tr");
          header.appendChild(el("th", "", "layer \\ position"));
          data.tokens.forEach(function (text, p) { var th = el("th", "", p + " " + text); th.dataset.pos = String(p); header.appendChild(th); });
          lens.appendChild(header);
          data.lens.forEach(function (layer) {
            var tr = el("tr");
            tr.appendChild(el("th", "", layer.label));
            layer.top.forEach(function (top, p) {
              var td = el("td", "", top);
              td.dataset.pos = String(p);
              if (p < n - 1) {
                var prob = Math.exp(layer.logProb[p]);
                td.style.background = shade(prob);
                td.style.color = ink(prob);
                td.title = "log p(next token " + data.tokens[p + 1] + ") = " + layer.logProb[p].toFixed(3);
              }
              tr.appendChild(td);
            });
            lens.appendChild(tr);
          });

          var limit = 0;
          data.attribution.forEach(function (row) { row.forEach(function (v) { limit = Math.max(limit, Math.abs(v)); }); });

          function show(q) {
            document.getElementById("query").textContent = "from position " + q + " (" + data.tokens[q] + ")" + (locked === null ? "" : ", kept");
            strip.querySelectorAll(".token").forEach(function (t) { t.classList.toggle("selected", Number(t.dataset.pos) === q); });
            data.heads.forEach(function (name, i) {
              var pattern = data.patterns[i][q];
              rows.querySelectorAll('.head[data-head="' + name + '"] .key').forEach(function (key) {
                var k = Number(key.dataset.pos), w = k <= q ? pattern[k] : 0;
                key.dataset.weight = w.toFixed(5);
                key.style.background = shade(w);
                key.style.color = ink(w);
                key.classList.toggle("future", k > q);
                key.classList.toggle("query-pos", k === q);
                key.title = name + ": attention from " + q + " to " + k + " = " + w.toFixed(3);
              });
            });
            lens.querySelectorAll("[data-pos]").forEach(function (c) { c.classList.toggle("selected", Number(c.dataset.pos) === q); });
            attribution(q);
          }

          function attribution(q) {
            var table = document.getElementById("attribution-table");
            table.textContent = "";
            var caption = document.getElementById("attribution-query");
            if (q >= n - 1) {
              caption.textContent = "The last position predicts a token that is not in the sequence: choose an earlier one.";
              return;
            }
            caption.textContent = "position " + q + " (" + data.tokens[q] + ") predicting " + data.tokens[q + 1];
            var order = data.heads.map(function (name, i) { return { name: name, value: data.attribution[i][q] }; });
            order.sort(function (a, b) { return Math.abs(b.value) - Math.abs(a.value); });
            var header = el("tr");
            header.appendChild(el("th", "", "head"));
            header.appendChild(el("th", "", "logit attribution"));
            table.appendChild(header);
            order.forEach(function (entry) {
              var tr = el("tr");
              tr.dataset.head = entry.name;
              tr.appendChild(el("th", "", entry.name));
              var td = el("td", "value", entry.value.toFixed(3));
              td.style.background = diverging(entry.value, limit);
              tr.appendChild(td);
              table.appendChild(tr);
            });
          }

          show(n - 1);
        })();
        """;
}
