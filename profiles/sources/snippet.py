"""The analytics.js loader snippet for a web page, pointed at this server instead of Segment's CDN."""

SNIPPET = """<script>
!function(){var i="analytics",analytics=window[i]=window[i]||[];if(!analytics.initialize)\
if(analytics.invoked)window.console&&console.error&&console.error("Segment snippet included twice.");\
else{analytics.invoked=!0;\
analytics.methods=["trackSubmit","trackClick","trackLink","trackForm","pageview","identify","reset","group",\
"track","ready","alias","debug","page","screen","once","off","on","addSourceMiddleware",\
"addIntegrationMiddleware","setAnonymousId","addDestinationMiddleware","register"];\
analytics.factory=function(e){return function(){if(window[i].initialized)return window[i][e].apply(window[i],\
arguments);var n=Array.prototype.slice.call(arguments);n.unshift(e);analytics.push(n);return analytics}};\
for(var n=0;n<analytics.methods.length;n++){var key=analytics.methods[n];\
analytics[key]=analytics.factory(key)}\
analytics.load=function(key,n){var t=document.createElement("script");t.type="text/javascript";t.async=!0;\
t.setAttribute("data-global-segment-analytics-key",i);\
t.src="HOST/cdp/analytics/analytics.js/v1/"+key+"/analytics.min.js";\
var r=document.getElementsByTagName("script")[0];r.parentNode.insertBefore(t,r);analytics._loadOptions=n};\
analytics._writeKey="WRITE_KEY";analytics._cdn="HOST/cdp/analytics";analytics.SNIPPET_VERSION="5.2.0";
analytics.load("WRITE_KEY");
analytics.page();
}}();
</script>"""


def analytics_snippet(*, host_url: str, write_key: str = "WRITE_KEY") -> str:
    """Segment's standard snippet with the script and settings served from `host_url` (no CDN)."""
    return SNIPPET.replace("HOST", host_url.rstrip("/")).replace("WRITE_KEY", write_key)
