import { describe, expect, test } from "bun:test";
import { appenderXml, escapeXmlAttribute } from "../../src/cli/appender-xml.ts";

// The exact bytes for 10.0.1.5:9997; any change to the output must be deliberate (reference §15: byte-stable).
const GOLDEN = `<?xml version="1.0" encoding="UTF-8"?>
<configuration>

    <!-- User session events: Start session / Stop session -->
    <appender name="EventSession" type="log4net.Appender.UdpAppender">
        <filter type="log4net.Filter.StringMatchFilter">
            <param name="stringToMatch" value="Start session for user" />
        </filter>
        <filter type="log4net.Filter.StringMatchFilter">
            <param name="stringToMatch" value="Stop session for user" />
        </filter>
        <filter type="log4net.Filter.DenyAllFilter" />
        <param name="remoteAddress" value="10.0.1.5" />
        <param name="remotePort" value="9997" />
        <param name="encoding" value="utf-8" />
        <layout type="log4net.Layout.PatternLayout">
            <converter>
                <param name="name" value="hostname" />
                <param name="type" value="Qlik.Sense.Logging.log4net.Layout.Pattern.HostNamePatternConverter" />
            </converter>
            <param name="conversionpattern" value="/qseow-proxy-session/;%hostname;%property{Command};%property{UserDirectory};%property{UserId};%property{Origin};%property{Context};%message" />
        </layout>
    </appender>

    <!-- User connection events: connection Opened / Closed -->
    <appender name="EventConnection" type="log4net.Appender.UdpAppender">
        <filter type="log4net.Filter.StringMatchFilter">
            <param name="stringToMatch" value="connection Opened for session" />
        </filter>
        <filter type="log4net.Filter.StringMatchFilter">
            <param name="stringToMatch" value="connection Closed for session" />
        </filter>
        <filter type="log4net.Filter.DenyAllFilter" />
        <param name="remoteAddress" value="10.0.1.5" />
        <param name="remotePort" value="9997" />
        <param name="encoding" value="utf-8" />
        <layout type="log4net.Layout.PatternLayout">
            <converter>
                <param name="name" value="hostname" />
                <param name="type" value="Qlik.Sense.Logging.log4net.Layout.Pattern.HostNamePatternConverter" />
            </converter>
            <param name="conversionpattern" value="/qseow-proxy-connection/;%hostname;%property{Command};%property{UserDirectory};%property{UserId};%property{Origin};%property{Context};%message" />
        </layout>
    </appender>

    <!-- Send the user activity to sense-events over UDP -->
    <logger name="AuditActivity.Proxy">
        <appender-ref ref="EventSession" />
        <appender-ref ref="EventConnection" />
    </logger>
</configuration>
`;

type XmlElement = { name: string; attributes: Record<string, string>; children: XmlElement[] };

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** A strict little XML reader for this file's subset: throws on anything that is not well-formed. */
function parseXml(text: string): XmlElement {
  const declaration = '<?xml version="1.0" encoding="UTF-8"?>\n';
  if (!text.startsWith(declaration)) throw new Error("missing XML declaration");
  const body = text.slice(declaration.length).replace(/<!--(?:(?!--)[\s\S])*-->/g, "");
  const token =
    /<(\/?)([A-Za-z][\w.-]*)((?:\s+[A-Za-z][\w.-]*="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>/y;
  const attribute = /([A-Za-z][\w.-]*)="([^"]*)"/g;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  let at = 0;
  while (at < body.length) {
    const lt = body.indexOf("<", at);
    const text = lt < 0 ? body.slice(at) : body.slice(at, lt);
    if (text.trim() !== "") throw new Error(`unexpected text ${JSON.stringify(text)}`);
    if (lt < 0) break;
    token.lastIndex = lt;
    const match = token.exec(body);
    if (!match) throw new Error(`malformed tag at ${JSON.stringify(body.slice(lt, lt + 40))}`);
    const [whole, closing, name = "", attrs = "", selfClosing] = match;
    at = lt + whole.length;
    if (closing) {
      if (stack.pop()?.name !== name) throw new Error(`mismatched </${name}>`);
      continue;
    }
    const attributes: Record<string, string> = {};
    for (const [, key = "", value = ""] of attrs.matchAll(attribute)) {
      if (key in attributes) throw new Error(`duplicate attribute ${key}`);
      attributes[key] = value.replace(/&(\w+);/g, (_, entity: string) => ENTITIES[entity] ?? "");
    }
    const element: XmlElement = { name, attributes, children: [] };
    const parent = stack.at(-1);
    if (parent) parent.children.push(element);
    else if (root) throw new Error("second root element");
    else root = element;
    if (!selfClosing) stack.push(element);
  }
  if (!root || stack.length > 0) throw new Error("unclosed element");
  return root;
}

const el = (
  name: string,
  attributes: Record<string, string> = {},
  children: XmlElement[] = [],
): XmlElement => ({
  name,
  attributes,
  children,
});
const param = (name: string, value: string) => el("param", { name, value });

function expectedAppender(
  name: string,
  matches: [string, string],
  type: string,
  address: string,
  port: string,
) {
  return el("appender", { name, type: "log4net.Appender.UdpAppender" }, [
    el("filter", { type: "log4net.Filter.StringMatchFilter" }, [param("stringToMatch", matches[0])]),
    el("filter", { type: "log4net.Filter.StringMatchFilter" }, [param("stringToMatch", matches[1])]),
    el("filter", { type: "log4net.Filter.DenyAllFilter" }),
    param("remoteAddress", address),
    param("remotePort", port),
    param("encoding", "utf-8"),
    el("layout", { type: "log4net.Layout.PatternLayout" }, [
      el("converter", {}, [
        param("name", "hostname"),
        param("type", "Qlik.Sense.Logging.log4net.Layout.Pattern.HostNamePatternConverter"),
      ]),
      param(
        "conversionpattern",
        `/${type}/;%hostname;%property{Command};%property{UserDirectory};%property{UserId};%property{Origin};%property{Context};%message`,
      ),
    ]),
  ]);
}

function expectedTree(address: string, port: string): XmlElement {
  return el("configuration", {}, [
    expectedAppender(
      "EventSession",
      ["Start session for user", "Stop session for user"],
      "qseow-proxy-session",
      address,
      port,
    ),
    expectedAppender(
      "EventConnection",
      ["connection Opened for session", "connection Closed for session"],
      "qseow-proxy-connection",
      address,
      port,
    ),
    el("logger", { name: "AuditActivity.Proxy" }, [
      el("appender-ref", { ref: "EventSession" }),
      el("appender-ref", { ref: "EventConnection" }),
    ]),
  ]);
}

describe("appenderXml", () => {
  test("produces exactly the golden bytes", () => {
    expect(appenderXml({ address: "10.0.1.5", port: 9997 })).toBe(GOLDEN);
  });

  test("produces the same text on every call", () => {
    const target = { address: "sense-events.lab", port: 9000 };
    expect(appenderXml(target)).toBe(appenderXml(target));
  });

  test.each([
    ["10.0.1.5", 9997],
    ["sense-events.lab", 1],
    ["fd00::15", 65535],
    [`a&b<c>"d'e`, 9997],
    ["&amp;", 9997],
  ])("is well-formed with exactly the reference §15 elements for %s:%d", (address, port) => {
    expect(parseXml(appenderXml({ address, port }))).toStrictEqual(expectedTree(address, String(port)));
  });

  test("escapes the address in both remoteAddress params", () => {
    const xml = appenderXml({ address: `a&b<c>"d'e`, port: 9997 });
    expect(xml.split('<param name="remoteAddress" value="a&amp;b&lt;c&gt;&quot;d&apos;e" />')).toHaveLength(
      3,
    );
  });

  test("the reader used here rejects an unescaped ampersand", () => {
    expect(() => parseXml(GOLDEN.replace("10.0.1.5", "a&b"))).toThrow("malformed tag");
  });
});

test.each([
  ["plain", "plain"],
  ["a&b", "a&amp;b"],
  ["<x>", "&lt;x&gt;"],
  [`"'`, "&quot;&apos;"],
  ["&lt;", "&amp;lt;"],
])("escapeXmlAttribute(%j) is %j", (input, output) => {
  expect(escapeXmlAttribute(input)).toBe(output);
});
