/**
 * The network a chain belongs to, as far as a peer's config says: its consensus plugin and, for
 * PBFT, its validator set (`pbft:vp0,vp1,vp2,vp3`, `noops`). Every wspeer network starts from the
 * same genesis block, so this label, recorded in a ledger store at its first open, is what tells
 * one network's stored chain from another's.
 */
export function networkLabel(consensus: string, options: Readonly<Record<string, unknown>> = {}): string {
  const plugin = consensus.trim().toLowerCase()
  const raw = options['validators']
  const validators = Array.isArray(raw)
    ? raw.map(String)
    : typeof raw === 'string'
      ? raw
          .split(',')
          .map((v) => v.trim())
          .filter((v) => v !== '')
      : []
  return validators.length === 0 ? plugin : `${plugin}:${validators.join(',')}`
}
