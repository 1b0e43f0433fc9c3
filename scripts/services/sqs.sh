# The SQS-compatible server (fauxqs 1.9.2, in-memory) and Cyphr's queues. Sourced by scripts/services.sh.
SQS_DIR="$STATE_DIR/sqs"

sqs_pid_alive() { [[ -f "$SQS_DIR/sqs.pid" ]] && kill -0 "$(cat "$SQS_DIR/sqs.pid")" 2>/dev/null; }

sqs_up() {
  mkdir -p "$SQS_DIR"
  [[ -f "$ROOT/node_modules/fauxqs/package.json" ]] || die "fauxqs is not installed; run 'npm ci' first"
  if sqs_pid_alive; then
    log "SQS server already running on $HOST:$SQS_PORT"
  else
    require_free_port "$SQS_PORT" "the SQS server"
    nohup node "$here/services/sqs-server.mjs" "$SQS_PORT" >"$SQS_DIR/sqs.log" 2>&1 &
    echo $! >"$SQS_DIR/sqs.pid"
    wait_for 15 "the SQS server" port_open "$SQS_PORT"
    log "SQS server (fauxqs) on http://$HOST:$SQS_PORT"
  fi
  local assignments
  assignments=$(cd "$ROOT" && node -r ts-node/register/transpile-only "$here/services/create-queues.ts" "http://$HOST:$SQS_PORT") \
    || die "could not create the queues on http://$HOST:$SQS_PORT"
  eval "$assignments"
  log "queues: cyphr-messages.fifo -> cyphr-messages-dlq.fifo, cyphr-notifications -> cyphr-dlq"
}

sqs_down() {
  sqs_pid_alive || { rm -f "$SQS_DIR/sqs.pid"; return 0; }
  local pid
  pid=$(cat "$SQS_DIR/sqs.pid")
  kill "$pid"
  wait_for 10 "SQS server shutdown" bash -c "! kill -0 $pid"
  rm -f "$SQS_DIR/sqs.pid"
}

sqs_status() {
  if port_open "$SQS_PORT"; then log "sqs: up (http://$HOST:$SQS_PORT)"; else log "sqs: down"; return 1; fi
}
