/** Where the generated appender should send its datagrams. */
export type AppenderTarget = { address: string; port: number };

/** Escapes text for use inside a double-quoted XML attribute value. */
export function escapeXmlAttribute(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;")
    .replaceAll("'", "&apos;");
}

/**
 * Returns the Log4Net `LocalLogConfig.xml` for the Qlik Sense Proxy (reference §15): session and connection
 * appenders sending format (a) datagrams to the target. Byte-stable: the same target always gives the same text.
 */
export function appenderXml(target: AppenderTarget): string {
  const address = escapeXmlAttribute(target.address);
  const port = String(target.port);
  return `<?xml version="1.0" encoding="UTF-8"?>
<configuration>

    <!-- User session events: Start session / Stop session -->
${appender("EventSession", ["Start session for user", "Stop session for user"], "qseow-proxy-session", address, port)}

    <!-- User connection events: connection Opened / Closed -->
${appender("EventConnection", ["connection Opened for session", "connection Closed for session"], "qseow-proxy-connection", address, port)}

    <!-- Send the user activity to sense-events over UDP -->
    <logger name="AuditActivity.Proxy">
        <appender-ref ref="EventSession" />
        <appender-ref ref="EventConnection" />
    </logger>
</configuration>
`;
}

function appender(name: string, matches: string[], type: string, address: string, port: string): string {
  const filters = matches.map(
    (text) => `        <filter type="log4net.Filter.StringMatchFilter">
            <param name="stringToMatch" value="${text}" />
        </filter>
`,
  );
  const pattern = `/${type}/;%hostname;%property{Command};%property{UserDirectory};%property{UserId};%property{Origin};%property{Context};%message`;
  return `    <appender name="${name}" type="log4net.Appender.UdpAppender">
${filters.join("")}        <filter type="log4net.Filter.DenyAllFilter" />
        <param name="remoteAddress" value="${address}" />
        <param name="remotePort" value="${port}" />
        <param name="encoding" value="utf-8" />
        <layout type="log4net.Layout.PatternLayout">
            <converter>
                <param name="name" value="hostname" />
                <param name="type" value="Qlik.Sense.Logging.log4net.Layout.Pattern.HostNamePatternConverter" />
            </converter>
            <param name="conversionpattern" value="${pattern}" />
        </layout>
    </appender>`;
}
