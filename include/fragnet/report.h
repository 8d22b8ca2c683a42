/*
 * fragnet/report.h - the output of `fragnet status` and `fragnet stats
 * --json`: the formats that scripts parse.
 *
 * STATUS: both are written by src/supervisor/report.c and travel as the
 * reply to the control commands "status" and "stats-json" (ctl.h).
 * report.c prints every status column from one table indexed by enum
 * fn_status_col below, and every JSON object from one function each.
 * Parsed by tests/integration/lib.sh (status_field, all_in_state,
 * status_pids) and bench/lib.sh (comp_pids) with awk, and by bench/driver,
 * bench/kvs and the integration tests with Python's json.
 *
 * STABILITY
 *   The status columns (their order and meaning) and the JSON keys are an
 *   interface: renaming, removing or reordering one breaks those scripts.
 *   A new status column goes at the end; a new JSON key may go anywhere.
 *   Column widths, the first status line and all of plain `fragnet stats`
 *   (text for people, never parsed) may change at will.
 *
 * STATUS (`fragnet status [TOPOLOGY]`), text, one line per \n:
 *   1.  "topology NAME: supervisor pid PID, up UPTIME, config PATH", and
 *       with [cluster] enabled ", cluster STATE" (waiting, creating, ok,
 *       or "failed (WHY)"), and with [topology] metrics ", metrics
 *       http://ADDRESS:PORT/metrics (STATE)" (the state of its server:
 *       running, backoff, failed or stopped)
 *   2.  an empty line
 *   3.  the column names: "COMPONENT PIPELINE PID CPU STATE RESTARTS UPTIME
 *       NETWORKS ADDRESS MAC"
 *   4.  one row per component, in spawn order: the nic, every driver,
 *       every vswitch (networks in file order), every stack, every app
 *       (pipelines ascending within a role).
 *   Cells are padded to their column's width and separated by at least one
 *   space; none is empty or contains white space.  So awk's $N is column N
 *   whatever the widths (a cell wider than its column only shifts the rest
 *   of its row), and rows are the lines with NR > 3.
 *
 *   $N  column     a row's cell
 *   --  ---------  ----------------------------------------------------
 *   $1  COMPONENT  role: nic, driver, vswitch, stack or app
 *   $2  PIPELINE   pipeline index, decimal; "-" for the nic and a vswitch
 *   $3  PID        process id; "-" when not running
 *   $4  CPU        cpus it may run on, read back from the kernel (cpu list
 *                  syntax, "3" or "0-2,5"); "?" when unreadable; "-" when
 *                  not running
 *   $5  STATE      starting  running, within its first 200 ms
 *                  running   running
 *                  backoff   exited; restarts after a delay
 *                  stopping  its parent died; SIGTERM sent, SIGKILL next
 *                  waiting   exited; restarts right after its parent
 *                  failed    given up (crash loop, exec failure)
 *                  stopped   not running and not going to run
 *   $6  RESTARTS   times the supervisor restarted it, decimal
 *   $7  UPTIME     since its last start: "42s", "3m07s", "5h02m", "2d03h";
 *                  "-" when not running
 *   $8  NETWORKS   the internal networks it is on: a vswitch's own; a
 *                  stack's, comma separated, in the order of its netifs
 *                  ("internal,backend"); "-" for none
 *   $9  ADDRESS    a stack's uplink address and prefix ("10.78.0.3/24",
 *                  per [stack] addressing: config.h fn_pipeline_conf);
 *                  "-" for other roles and a stack without an uplink
 *   $10 MAC        that uplink's MAC ("02:00:0a:4e:00:03"); "-" likewise
 *
 * STATS JSON (`fragnet stats --json [TOPOLOGY]`): one JSON document, one
 * component object per line (the layout is not part of the contract):
 *
 *   { "topology":   string, the topology's name
 *     "supervisor": { "pid":      int, the supervisor's pid
 *                     "restarts": int, component restarts, all components
 *                     "exits":    int, component exits, all components
 *                     "uptime_s": int, seconds since the supervisor started
 *                     "cluster":  string, with [cluster] enabled only:
 *                                 waiting, creating, ok or failed
 *                     "metrics":  with [topology] metrics only:
 *                                 { "address":  string, as configured
 *                                   "state":    string, as in status
 *                                               line 1
 *                                   "pid":      int, of `fragnet
 *                                               metrics-serve`; 0 when
 *                                               not running
 *                                   "restarts": int } },
 *     "components": [ COMPONENT, ... ] }    in status row order
 *
 *   COMPONENT:
 *   { "component": string, role (status $1)
 *     "pipeline":  int, or null for the nic and a vswitch
 *     "networks":  [ string, ... ], as status $8 ([] for none)
 *     "address":   string, as status $9, or null where that is "-"
 *     "mac":       string, as status $10, or null where that is "-"
 *     "label":     string, "nic", ROLE/PIPELINE ("stack/1") or
 *                  vswitch/NETWORK ("vswitch/internal"): unique
 *     "pid":       int, 0 when not running
 *     "state":     string, as status $5
 *     "restarts":  int, as status $6
 *     "exits":     int, times it exited (or was killed)
 *     "counters":  { NAME: int, ... } }
 *
 *   counters holds what the component registered in its stats page
 *   (stats.h), in registration order, counted since its last start; {} for
 *   a component that registered none.  NAME is printable ASCII without '"'
 *   or '\' ("stack.rx_frames", "link.tx.pkts").  Every int is a decimal
 *   integer; counters may reach 2^64 - 1, beyond a double's exact range.
 */
#ifndef FRAGNET_REPORT_H
#define FRAGNET_REPORT_H

/* The status columns, in order: awk's $N is column N - 1 here. */
enum fn_status_col {
	FN_STATUS_COMPONENT,
	FN_STATUS_PIPELINE,
	FN_STATUS_PID,
	FN_STATUS_CPU,
	FN_STATUS_STATE,
	FN_STATUS_RESTARTS,
	FN_STATUS_UPTIME,
	FN_STATUS_NETWORKS,
	FN_STATUS_ADDRESS,
	FN_STATUS_MAC,
	FN_STATUS_NCOL
};

#endif /* FRAGNET_REPORT_H */
