// Starts Swagger UI on /docs with Herald's OpenAPI document. A file, not an inline script, so
// the page's Content-Security-Policy can forbid inline scripts.
window.ui = SwaggerUIBundle({
  url: document.getElementById("swagger-ui").dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  // The default would send the document to validator.swagger.io for a badge.
  validatorUrl: null,
  layout: "BaseLayout",
  // Swagger UI lists a long document only as it scrolls into view, out of reach of the
  // browser's find-in-page: the filter box finds a tag by name.
  filter: true,
  presets: [SwaggerUIBundle.presets.apis],
});
