-- mod_fedge_test_route.lua — test-only Prosody module: sends outgoing
-- server-to-server connections for the domains listed in the option
-- fedge_test_routes ({ ["contoso.test"] = { "127.0.0.1", 45269 } }) to that
-- address instead of looking up _xmpp-server._tcp SRV records, so that an
-- end-to-end test can run Prosody and fedge on loopback without a DNS server
-- Prosody would read from /etc/resolv.conf. Everything else (STARTTLS,
-- certificate checks against the domain, SASL EXTERNAL, dialback) is
-- Prosody's own. A route may also be a list of addresses
-- ({ { "127.0.0.1", 45269 }, { "127.0.0.1", 45270 } }, a pool of edges):
-- tried in order, as Prosody tries the targets of SRV records.
local service = require "net.resolvers.service";
local basic = require "net.resolvers.basic";
local chain = require "net.resolvers.chain";

local routes = module:get_option("fedge_test_routes", {});
local original = service.new;

service.new = function (hostname, srv, conn_type, extra)
	local r = routes[hostname];
	if r and srv == "xmpp-server" and type(r[1]) == "table" then
		local list = {};
		for i, a in ipairs(r) do
			module:log("info", "test route: %s -> %s:%d (%d of %d)", hostname, a[1], a[2], i, #r);
			list[i] = basic.new(a[1], a[2], conn_type, extra);
		end
		return chain.new(list);
	end
	if r and srv == "xmpp-server" then
		module:log("info", "test route: %s -> %s:%d", hostname, r[1], r[2]);
		return basic.new(r[1], r[2], conn_type, extra);
	end
	return original(hostname, srv, conn_type, extra);
end

function module.unload()
	service.new = original;
end
