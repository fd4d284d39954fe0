// @segment/analytics-node with only its host changed: every call type, then flush; exits 1 on any error.
import { Analytics } from '@segment/analytics-node'

const [host, writeKey] = process.argv.slice(2)
const analytics = new Analytics({ writeKey, host, flushAt: 20, maxRetries: 3 })
let failed = false
analytics.on('error', (error) => {
  failed = true
  console.error('analytics-node error:', error?.reason?.message || error?.message || error)
})
analytics.identify({ userId: 'node-user', traits: { email: 'Node@Example.com', plan: 'pro' } })
analytics.track({ userId: 'node-user', event: 'Order Completed', properties: { revenue: 12.5 } })
analytics.page({ userId: 'node-user', category: 'Shop', name: 'Checkout', properties: { url: 'https://shop.example/c?utm_source=node' } })
analytics.screen({ userId: 'node-user', name: 'Basket' })
analytics.group({ userId: 'node-user', groupId: 'node-co', traits: { name: 'Node Co' } })
analytics.alias({ userId: 'node-user', previousId: 'node-anon' })
await analytics.closeAndFlush({ timeout: 20000 })
process.exit(failed ? 1 : 0)
