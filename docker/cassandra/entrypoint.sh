#!/bin/bash
# Starts one Cassandra node in the foreground, configured by the official cassandra image's variables:
#   CASSANDRA_CLUSTER_NAME      cluster name (all nodes alike)                     default: Test Cluster
#   CASSANDRA_SEEDS             comma-separated seed hosts                         default: this node
#   CASSANDRA_LISTEN_ADDRESS    address for other nodes; auto = this container's   default: auto
#   CASSANDRA_BROADCAST_ADDRESS address other nodes are told                       default: the listen address
#   CASSANDRA_RPC_ADDRESS       CQL listen address                                 default: 0.0.0.0
#   CASSANDRA_BROADCAST_RPC_ADDRESS  CQL address clients are told                  default: the broadcast address
#   CASSANDRA_NUM_TOKENS        vnodes                                             default: 16
#   CASSANDRA_ENDPOINT_SNITCH   e.g. GossipingPropertyFileSnitch                   default: SimpleSnitch
#   CASSANDRA_DC, CASSANDRA_RACK  this node's datacenter and rack (GossipingPropertyFileSnitch)  default: dc1, rack1
#   MAX_HEAP_SIZE               JVM heap                                           default: 1G
#   JVM_EXTRA_OPTS              more JVM options
#   CASSANDRA_AUTHENTICATOR, CASSANDRA_AUTHORIZER  e.g. PasswordAuthenticator, CassandraAuthorizer  default: AllowAll...
# HEAP_NEWSIZE, which the official image also reads, is for the CMS collector: Cassandra 5.0 on Java 17 runs G1
# (tools/cassandra/jvm17-server.options), which sizes its young generation itself, so it is ignored here.
set -euo pipefail

listen=${CASSANDRA_LISTEN_ADDRESS:-auto}
if [ "$listen" = auto ]; then
  listen=$(getent hosts "$HOSTNAME" | awk '{print $1; exit}')
fi
broadcast=${CASSANDRA_BROADCAST_ADDRESS:-$listen}
conf=/etc/cassandra
data=/var/lib/cassandra

cat > "$conf/cassandra.yaml" <<YAML
cluster_name: '${CASSANDRA_CLUSTER_NAME:-Test Cluster}'
num_tokens: ${CASSANDRA_NUM_TOKENS:-16}
allocate_tokens_for_local_replication_factor: 3
endpoint_snitch: ${CASSANDRA_ENDPOINT_SNITCH:-SimpleSnitch}
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "${CASSANDRA_SEEDS:-$broadcast}"
listen_address: $listen
broadcast_address: $broadcast
rpc_address: ${CASSANDRA_RPC_ADDRESS:-0.0.0.0}
broadcast_rpc_address: ${CASSANDRA_BROADCAST_RPC_ADDRESS:-$broadcast}
storage_port: 7000
native_transport_port: 9042
data_file_directories:
  - $data/data
commitlog_directory: $data/commitlog
saved_caches_directory: $data/saved_caches
hints_directory: $data/hints
cdc_raw_directory: $data/cdc_raw
authenticator: ${CASSANDRA_AUTHENTICATOR:-AllowAllAuthenticator}
authorizer: ${CASSANDRA_AUTHORIZER:-AllowAllAuthorizer}
YAML
cat /opt/cassandra/conf/settings.yaml >> "$conf/cassandra.yaml"  # shared with make up and the tests
printf 'dc=%s\nrack=%s\nprefer_local=true\n' "${CASSANDRA_DC:-dc1}" "${CASSANDRA_RACK:-rack1}" \
  > "$conf/cassandra-rackdc.properties"

heap=${MAX_HEAP_SIZE:-1G}
mapfile -t options < <(grep -v -e '^#' -e '^$' /opt/cassandra/conf/jvm17-server.options | tr ' ' '\n')
# shellcheck disable=SC2086  # JVM_EXTRA_OPTS is a list of options
exec java "-Xms$heap" "-Xmx$heap" -Xss512k -XX:+HeapDumpOnOutOfMemoryError "-XX:HeapDumpPath=$data" \
  "${options[@]}" \
  "-Dcassandra.config=file://$conf/cassandra.yaml" -Dcassandra-foreground=yes "-Dcassandra.storagedir=$data" \
  -Dcassandra.logdir=/var/log/cassandra -Dlogback.configurationFile=file:///opt/cassandra/conf/logback.xml \
  -Dcassandra.jmx.local.port=7199 -Djava.net.preferIPv4Stack=true ${JVM_EXTRA_OPTS:-} \
  -cp "$conf:/opt/cassandra/lib/*" org.apache.cassandra.service.CassandraDaemon
