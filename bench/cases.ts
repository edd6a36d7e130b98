/**
 * The registry of benchmark cases, one per report key, in report order. A case either measures
 * (a `run` that spawns its own processes, or a browser) or says why it cannot yet.
 */
import { runBrowser } from './browser-case.js'
import { runBrowserFollow } from './browser-follow-case.js'
import { runFlood } from './flood-case.js'
import { runPbftCase } from './pbft-case.js'
import type { BenchCase } from './harness.js'
import { runTransport } from './transport-case.js'
import { runFollowersCase } from './followers-case.js'
import { runValidatorsCase } from './validators-case.js'


export const CASES: readonly BenchCase[] = [
  { key: 'transport.single', title: 'transport, one connection, two processes', run: (o) => runTransport(2, 0.9, o) },
  { key: 'transport.mesh', title: 'transport, 4 processes all-to-all broadcast', run: (o) => runTransport(4, 0.85, o) },
  { key: 'pbft.batch1', title: 'PBFT closed loop, batch 1', run: (o) => runPbftCase('pbft.batch1', o) },
  { key: 'pbft.batch100', title: 'PBFT closed loop, batch 100', run: (o) => runPbftCase('pbft.batch100', o) },
  {
    key: 'pbft.batch100_durable',
    title: 'PBFT closed loop, batch 100, validators on LevelDB (--fsync block)',
    run: (o) => runPbftCase('pbft.batch100_durable', o),
  },
  { key: 'pbft.batch500', title: 'PBFT closed loop, batch 500', run: (o) => runPbftCase('pbft.batch500', o) },
  { key: 'pbft.latency1k', title: 'PBFT open loop, 1,000 tx/s', run: (o) => runPbftCase('pbft.latency1k', o) },
  { key: 'pbft.latency20k', title: 'PBFT open loop, 20,000 tx/s', run: (o) => runPbftCase('pbft.latency20k', o) },
  {
    key: 'pbft.latency20k_spread',
    title: 'PBFT open loop, 20,000 tx/s, sent to every validator in turn',
    run: (o) => runPbftCase('pbft.latency20k_spread', o),
  },
  { key: 'flood', title: 'flood: 10x the queue bound against one peer', run: (o) => runFlood(o) },
  { key: 'browser', title: 'browser tab peer (Chromium) receiving from a Node peer', run: (o) => runBrowser(o) },
  { key: 'browser.follow', title: 'a tab following a 4-validator PBFT network at 10,000 tx/s', run: (o) => runBrowserFollow(o) },
  { key: 'followers.node0', title: 'followers: 4 validators at 5,000 tx/s, no Node followers', run: (o) => runFollowersCase('followers.node0', o) },
  { key: 'followers.node10', title: 'followers: 4 validators at 5,000 tx/s, 10 Node followers', run: (o) => runFollowersCase('followers.node10', o) },
  { key: 'followers.node30', title: 'followers: 4 validators at 5,000 tx/s, 30 Node followers', run: (o) => runFollowersCase('followers.node30', o) },
  { key: 'followers.tabs25', title: 'followers: 4 validators at 1,000 tx/s, 25 tabs', run: (o) => runFollowersCase('followers.tabs25', o) },
  { key: 'followers.tabs50', title: 'followers: 4 validators at 1,000 tx/s, 50 tabs', run: (o) => runFollowersCase('followers.tabs50', o) },
  { key: 'validators.n4', title: 'validators: 4 PBFT validators, batch 100, closed loop', run: (o) => runValidatorsCase('validators.n4', o) },
  { key: 'validators.n7', title: 'validators: 7 PBFT validators, batch 100, closed loop', run: (o) => runValidatorsCase('validators.n7', o) },
  { key: 'validators.n16', title: 'validators: 16 PBFT validators, batch 100, closed loop', run: (o) => runValidatorsCase('validators.n16', o) },
  { key: 'validators.n32', title: 'validators: 32 PBFT validators, batch 100, closed loop', run: (o) => runValidatorsCase('validators.n32', o) },
]
