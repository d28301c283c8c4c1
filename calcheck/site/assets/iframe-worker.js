// Opened from file:// (a copy of the site sent to an auditor), the browser refuses to start the site search's
// web worker, so the search box would vanish. This runs the same worker script in a hidden frame of the page
// instead. Over http(s) it does nothing. It loads nothing from any other host.
(function () {
  "use strict";
  if (window.location.protocol !== "file:" || !window.Worker) { return; }

  function FileWorker(url) {
    var worker = this;
    this.onmessage = null;
    this.onerror = null;
    this.listeners = [];
    this.queue = [];
    this.frame = document.createElement("iframe");
    this.frame.hidden = true;
    this.frame.tabIndex = -1;
    this.frame.setAttribute("aria-hidden", "true");
    this.frame.title = "search";
    (document.body || document.documentElement).appendChild(this.frame);
    var scope = this.frame.contentWindow;
    this.scope = scope;
    scope.postMessage = function (data) { worker.deliver(data); };
    scope.importScripts = function () {
      var urls = Array.prototype.slice.call(arguments);
      return urls.reduce(function (done, source) {
        return done.then(function () { return worker.load(source); });
      }, Promise.resolve());
    };
    this.load(new URL(String(url), document.baseURI).href).then(function () {
      var waiting = worker.queue;
      worker.queue = null;
      waiting.forEach(function (data) { worker.postMessage(data); });
    }, function (error) {
      if (worker.onerror) { worker.onerror(error); }
    });
  }

  FileWorker.prototype.load = function (source) {
    var scope = this.scope;
    return new Promise(function (resolve, reject) {
      var script = scope.document.createElement("script");
      script.src = new URL(source, document.baseURI).href;
      script.onload = resolve;
      script.onerror = reject;
      scope.document.head.appendChild(script);
    });
  };

  FileWorker.prototype.postMessage = function (data) {
    if (this.queue) { this.queue.push(data); return; }
    this.scope.dispatchEvent(new this.scope.MessageEvent("message", {data: data}));
  };

  FileWorker.prototype.deliver = function (data) {
    var event = new MessageEvent("message", {data: data});
    if (this.onmessage) { this.onmessage(event); }
    this.listeners.forEach(function (listener) { listener(event); });
  };

  FileWorker.prototype.addEventListener = function (type, listener) {
    if (type === "message") { this.listeners.push(listener); }
  };

  FileWorker.prototype.removeEventListener = function (type, listener) {
    this.listeners = this.listeners.filter(function (known) { return known !== listener; });
  };

  FileWorker.prototype.terminate = function () {
    if (this.frame.parentNode) { this.frame.parentNode.removeChild(this.frame); }
  };

  window.IFrameWorker = FileWorker;  // the search worker looks for this name to find its language files
  window.Worker = FileWorker;
}());
