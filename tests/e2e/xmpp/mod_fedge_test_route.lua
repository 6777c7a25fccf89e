-- mod_fedge_test_route.lua — test-only Prosody module: sends outgoing
-- server-to-server connections for the domains listed in the option
-- fedge_test_routes ({ ["contoso.test"] = { "127.0.0.1", 45269 } }) to that
-- address instead of looking up _xmpp-server._tcp SRV records, so that an
-- end-to-end test can run Prosody and fedge on loopback without a DNS server
-- Prosody would read from /etc/resolv.conf. Everything else (STARTTLS,
-- certificate checks against the domain, SASL EXTERNAL, dialback) is
-- Prosody's own.
local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";

local routes = module:get_option("fedge_test_routes", {});
local original = service.new;

service.new = function (hostname, srv, conn_type, extra)
	local r = routes[hostname];
	if r and srv == "xmpp-server" then
		module:log("info", "test route: %s -> %s:%d", hostname, r[1], r[2]);
		return basic.new(r[1], r[2], conn_type, extra);
	end
	return original(hostname, srv, conn_type, extra);
end

function module.unload()
	service.new = original;
end
