# Multicast test network, sourced after lib.sh by the multicast tests (and
# by bench/compare-multicast with its own cleanup):
#
#   mcast_setup N          a bridge namespace, a sender namespace (10.201.0.1)
#                          and N receiver namespaces (10.201.0.(10+i)), each
#                          on its own veth port of the bridge
#   mcast_loss I PERMILLE  frames the bridge sends to receiver I are dropped
#                          with that probability (nftables; no netem here)
#   mcast_block I          receiver I gets no more multicast (unicast passes)
#   mcast_member PORT GRP  the bridge lists group GRP on port PORT (vs, vrI)
#   mcast_count GRP        count the frames the bridge forwards to GRP, per port
#   mcast_counted PORT GRP [bytes]  how many of those (or their bytes) went out of PORT
#   mcast_teardown         remove it all (before another mcast_setup)
#   in_rx I CMD...         run CMD in receiver I's namespace
#   in_tx CMD...           run CMD in the sender's namespace
#
# Every namespace is added to SRV_NS / CLI_NS so lib.sh's cleanup kills what
# runs inside and deletes them. Interface names: vs (sender port), vrI.

MC_PREFIX=pxm$$
MC_BR=$MC_PREFIX-br
MC_TX=$MC_PREFIX-tx
MC_N=0
# Every receiver port is flooded (no IGMP snooping: nothing to wait for),
# so a network has exactly the receivers a run uses. MC_SNOOPING=1 before
# mcast_setup turns IGMP snooping on, with the bridge as the querier: group
# traffic then reaches only the ports whose receivers joined.
MC_SNOOPING=${MC_SNOOPING:-0}
MC_TX_IP=10.201.0.1

mc_rx_ns() { echo "$MC_PREFIX-r$1"; }
mc_rx_ip() { echo "10.201.0.$((10 + $1))"; }
in_rx() {
	local i=$1
	shift
	ip netns exec "$(mc_rx_ns "$i")" "$@"
}
in_tx() { ip netns exec "$MC_TX" "$@"; }

mc_port() { # NS PEER-NAME IFNAME-INSIDE ADDR
	local ns=$1 peer=$2 addr=$3
	ip netns add "$ns" || return 1
	ip link add "$peer" netns "$MC_BR" type veth peer name eth0 netns "$ns" || return 1
	ip -n "$MC_BR" link set "$peer" master br0 up
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add "$addr/24" brd + dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" route add 224.0.0.0/4 dev eth0
}

# Snooping is in force once a group nobody joined no longer reaches the
# receivers' ports: send one probe, give it 0.3 s to cross the bridge.
MC_PROBE=239.77.255.250
mc_snooping_active() {
	local before after
	before=$(mcast_counted vr0 $MC_PROBE)
	in_tx bash -c "echo probe >/dev/udp/$MC_PROBE/9" 2>/dev/null
	sleep 0.3
	after=$(mcast_counted vr0 $MC_PROBE)
	[ "$before" = "$after" ] && [ "$(mcast_counted vs $MC_PROBE)" = 0 ]
}

mc_ports_forwarding() {
	[ "$(bridge -n "$MC_BR" link show | grep -c 'state forwarding')" -ge "$1" ]
}

mcast_setup() {
	local n=$1 i
	MC_N=$n
	ip netns add "$MC_BR" || { bad "ip netns add"; exit 1; }
	SRV_NS="$MC_BR $MC_TX"
	if [ "$MC_SNOOPING" = 1 ]; then
		# The bridge floods every group until its querier has waited one
		# query response interval (10 s by default; 1 s here).
		ip -n "$MC_BR" link add br0 type bridge mcast_snooping 1 mcast_querier 1 \
			mcast_query_response_interval 100
	else
		ip -n "$MC_BR" link add br0 type bridge mcast_snooping 0
	fi
	ip -n "$MC_BR" link set br0 up
	mc_port "$MC_TX" vs "$MC_TX_IP" || { bad "sender namespace"; exit 1; }
	for ((i = 0; i < n; i++)); do
		CLI_NS="$CLI_NS $(mc_rx_ns "$i")"
		mc_port "$(mc_rx_ns "$i")" "vr$i" "$(mc_rx_ip "$i")" || { bad "receiver namespace $i"; exit 1; }
	done
	ip netns exec "$MC_BR" nft -f - <<-'NFT' || { bad "nftables table"; exit 1; }
	table bridge loss {
		chain ports {
			type filter hook forward priority 0; policy accept;
		}
	}
	NFT
	# Ready when every port of the bridge forwards.
	wait_until 10 mc_ports_forwarding $((n + 1)) || { bad "bridge ports not forwarding"; exit 1; }
	if [ "$MC_SNOOPING" = 1 ]; then
		mcast_count "$MC_PROBE"
		wait_until 20 mc_snooping_active || { bad "the bridge still floods multicast"; exit 1; }
	fi
	say "network: bridge $MC_BR, sender $MC_TX_IP, $n receivers"
}

# mcast_teardown: remove the network (and what runs in it) before another
# mcast_setup; lib.sh's cleanup does the same at exit.
mcast_teardown() {
	local ns p
	for ns in $SRV_NS $CLI_NS; do
		for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	done
	for ns in $SRV_NS $CLI_NS; do ip netns del "$ns" 2>/dev/null; done
	SRV_NS=
	CLI_NS=
}

mcast_loss() {
	local i=$1 permille=$2
	ip netns exec "$MC_BR" nft add rule bridge loss ports oifname "vr$i" \
		numgen random mod 1000 '<' "$permille" drop
}

mcast_block() {
	ip netns exec "$MC_BR" nft insert rule bridge loss ports oifname "vr$1" \
		meta pkttype multicast drop
}

mcast_member() {
	bridge -n "$MC_BR" mdb show | grep -qE "port $1 grp $2( |$)"
}

mcast_count() {
	local i
	for i in vs $(seq -f 'vr%g' 0 $((MC_N - 1))); do
		ip netns exec "$MC_BR" nft add rule bridge loss ports oifname "$i" ip daddr "$1" counter
	done
}

mcast_counted() {
	ip netns exec "$MC_BR" nft list chain bridge loss ports |
		awk -v p="\"$1\"" -v g="$2" -v c="${3:-packets}" '
			$1 == "oifname" && $2 == p && $5 == g { print (c == "bytes" ? $10 : $8); f = 1 }
			END { if (!f) print "missing" }'
}
