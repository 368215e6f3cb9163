/**
 * Draws a laid-out graph on a canvas, only what intersects the viewport (and no text when zoomed far out), with
 * pan (drag), zoom (wheel, about the pointer), hover and click hit-testing. It knows nothing of models: the view
 * gives it boxes, edges and how each item looks.
 */
import type { Colors } from '../theme.js';
import { HEADER, type Box, type Layout } from './layout.js';

export interface ItemLook {
  kind: 'node' | 'collapsed' | 'expanded';
  title: string;
  detail?: string;
  /** Fill colour (a node's group). */
  color?: string;
  /** Kept and total channels: the removed part is drawn as a ghost. */
  ghost?: { kept: number; total: number };
  /** 2: selected, 1: coupled to the selection. */
  mark?: 0 | 1 | 2;
  /** Coupled nodes hidden inside a collapsed cluster. */
  count?: number;
}

export interface Scene {
  layout: Layout;
  looks: Map<string, ItemLook>;
  colors: Colors;
}

export interface View {
  x: number;
  y: number;
  k: number;
}

export class GraphCanvas {
  readonly canvas: HTMLCanvasElement;
  private readonly ctx: CanvasRenderingContext2D;
  private scene?: Scene;
  view: View = { x: 0, y: 0, k: 1 };
  private frame = 0;
  private needsFit = false;
  private drag?: { x: number; y: number; vx: number; vy: number; moved: boolean };
  /** Items drawn in the last frame (for tests and measurement). */
  drawn = 0;
  onClick?: (id: string | null, e: MouseEvent) => void;
  onHover?: (id: string | null, e: MouseEvent) => void;
  onView?: (v: View) => void;
  onPaint?: () => void;

  constructor(private readonly host: HTMLElement) {
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'graph-canvas';
    this.canvas.tabIndex = 0;
    this.ctx = this.canvas.getContext('2d')!;
    host.append(this.canvas);
    new ResizeObserver(() => this.resize()).observe(host);
    this.canvas.addEventListener('wheel', (e) => this.wheel(e), { passive: false });
    this.canvas.addEventListener('pointerdown', (e) => {
      this.canvas.setPointerCapture(e.pointerId);
      this.drag = { x: e.clientX, y: e.clientY, vx: this.view.x, vy: this.view.y, moved: false };
    });
    this.canvas.addEventListener('pointermove', (e) => {
      if (this.drag && this.canvas.hasPointerCapture(e.pointerId)) {
        const dx = e.clientX - this.drag.x;
        const dy = e.clientY - this.drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) this.drag.moved = true;
        if (this.drag.moved) this.setView({ ...this.view, x: this.drag.vx + dx, y: this.drag.vy + dy });
      } else {
        this.onHover?.(this.hit(e), e);
      }
    });
    this.canvas.addEventListener('pointerup', (e) => {
      const d = this.drag;
      this.drag = undefined;
      if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
      if (d && !d.moved) this.onClick?.(this.hit(e), e);
    });
    this.canvas.addEventListener('pointerleave', (e) => this.onHover?.(null, e));
    this.canvas.addEventListener('keydown', (e) => {
      const step = 60;
      const moves: Record<string, [number, number]> = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
      if (moves[e.key]) this.setView({ ...this.view, x: this.view.x + moves[e.key][0], y: this.view.y + moves[e.key][1] });
      else if (e.key === '+' || e.key === '=') this.zoomAt(this.canvas.clientWidth / 2, this.canvas.clientHeight / 2, 1.25);
      else if (e.key === '-') this.zoomAt(this.canvas.clientWidth / 2, this.canvas.clientHeight / 2, 0.8);
      else return;
      e.preventDefault();
    });
  }

  setScene(scene: Scene): void {
    this.scene = scene;
    this.request();
  }

  setView(v: View): void {
    this.view = v;
    this.onView?.(v);
    this.request();
  }

  /** The graph in view (never magnified beyond 1:1, never too small to read). */
  fit(): void {
    const l = this.scene?.layout;
    const w = this.host.clientWidth;
    const h = this.host.clientHeight;
    if (!l) return;
    this.needsFit = !w || !h;
    if (this.needsFit) return;
    // the whole graph if that stays readable, else its top at a readable zoom (scroll or search for the rest)
    const all = Math.min(1, (w - 24) / Math.max(1, l.width), (h - 24) / Math.max(1, l.height));
    const k = Math.max(all, Math.min(0.8, (w - 24) / Math.max(1, l.width)));
    this.setView({ k, x: Math.max(12, (w - l.width * k) / 2), y: 12 });
  }

  /** Centres a box, zooming in to read it if needed. */
  centre(b: Box): void {
    const k = Math.max(this.view.k, 0.8);
    this.setView({ k, x: this.canvas.clientWidth / 2 - (b.x + b.w / 2) * k, y: this.canvas.clientHeight / 2 - (b.y + b.h / 2) * k });
  }

  zoomAt(px: number, py: number, factor: number): void {
    const k = Math.min(4, Math.max(0.02, this.view.k * factor));
    const f = k / this.view.k;
    this.setView({ k, x: px - (px - this.view.x) * f, y: py - (py - this.view.y) * f });
  }

  private wheel(e: WheelEvent): void {
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    if (e.ctrlKey || e.metaKey || Math.abs(e.deltaY) > Math.abs(e.deltaX)) this.zoomAt(e.clientX - r.left, e.clientY - r.top, Math.exp(-e.deltaY * 0.0015));
    else this.setView({ ...this.view, x: this.view.x - e.deltaX });
  }

  /** The item under the pointer: nodes and collapsed clusters first, then expanded clusters' headers. */
  hit(e: { clientX: number; clientY: number }): string | null {
    const s = this.scene;
    if (!s) return null;
    const r = this.canvas.getBoundingClientRect();
    const x = (e.clientX - r.left - this.view.x) / this.view.k;
    const y = (e.clientY - r.top - this.view.y) / this.view.k;
    let header: string | null = null;
    for (const [id, b] of s.layout.boxes) {
      if (x < b.x || x > b.x + b.w || y < b.y || y > b.y + b.h) continue;
      const look = s.looks.get(id);
      if (look?.kind === 'expanded') {
        if (y <= b.y + HEADER) header = id;
      } else return id;
    }
    return header;
  }

  private resize(): void {
    const dpr = window.devicePixelRatio || 1;
    const w = this.host.clientWidth;
    const h = this.host.clientHeight;
    if (!w || !h) return;
    this.canvas.width = Math.round(w * dpr);
    this.canvas.height = Math.round(h * dpr);
    this.canvas.style.width = `${w}px`;
    this.canvas.style.height = `${h}px`;
    if (this.needsFit) this.fit();
    this.request();
  }

  private request(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.paint();
    });
  }

  private paint(): void {
    const s = this.scene;
    const ctx = this.ctx;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    if (!s || !this.canvas.width) return;
    const { k, x: vx, y: vy } = this.view;
    ctx.setTransform(dpr * k, 0, 0, dpr * k, dpr * vx, dpr * vy);
    // the viewport in graph coordinates: anything outside it is skipped
    const view = { x: -vx / k, y: -vy / k, w: this.canvas.clientWidth / k, h: this.canvas.clientHeight / k };
    const inView = (b: Box) => b.x + b.w >= view.x && b.x <= view.x + view.w && b.y + b.h >= view.y && b.y <= view.y + view.h;
    const text = k >= 0.35;
    const c = s.colors;
    const hc = c.kind.startsWith('hc');
    let drawn = 0;
    ctx.font = c.font;
    ctx.textBaseline = 'middle';
    // expanded clusters, outermost first (they were added in that order)
    for (const [id, b] of s.layout.boxes) {
      const look = s.looks.get(id);
      if (look?.kind !== 'expanded' || !inView(b)) continue;
      drawn++;
      ctx.fillStyle = c.kind === 'light' || c.kind === 'hc-light' ? 'rgba(0,0,0,0.035)' : 'rgba(255,255,255,0.04)';
      ctx.strokeStyle = c.border;
      ctx.lineWidth = (hc ? 1.5 : 1) / k;
      roundRect(ctx, b, 6);
      ctx.fill();
      ctx.stroke();
      if (text) {
        ctx.fillStyle = c.muted;
        ctx.fillText(`▾ ${look.title}`, b.x + 8, b.y + HEADER / 2 + 2, b.w - 16);
      }
    }
    // edges: routed ones between siblings, then (fainter) the curves that cross cluster borders
    ctx.strokeStyle = c.muted;
    ctx.lineWidth = 1 / Math.max(k, 0.5);
    for (const curved of [false, true]) {
    ctx.globalAlpha = curved ? 0.55 : 1;
    ctx.beginPath();
    for (const e of s.layout.edges) {
      if (!!e.curve !== curved) continue;
      const p = e.points;
      if (p.length < 2) continue;
      let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
      for (const q of p) {
        minX = Math.min(minX, q.x); maxX = Math.max(maxX, q.x); minY = Math.min(minY, q.y); maxY = Math.max(maxY, q.y);
      }
      if (!inView({ x: minX, y: minY, w: maxX - minX, h: maxY - minY })) continue;
      ctx.moveTo(p[0].x, p[0].y);
      const a = p[p.length - 1];
      let ang: number;
      if (e.curve) {
        // across cluster borders: an S-curve arriving from above, or an arc to the right when the two ends are
        // above one another (a straight line would run over the nodes between them)
        const dy = Math.max(24, Math.abs(a.y - p[0].y) / 2);
        const bulge = Math.abs(a.x - p[0].x) < 40 ? Math.min(240, 30 + 0.25 * dy) : 0;
        ctx.bezierCurveTo(p[0].x + bulge, p[0].y + dy, a.x + bulge, a.y - dy, a.x, a.y);
        ang = Math.atan2(dy, -bulge);
      } else {
        for (let i = 1; i < p.length; i++) ctx.lineTo(p[i].x, p[i].y);
        const b = p[p.length - 2];
        ang = Math.atan2(a.y - b.y, a.x - b.x);
      }
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(a.x - 6 * Math.cos(ang - 0.4), a.y - 6 * Math.sin(ang - 0.4));
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(a.x - 6 * Math.cos(ang + 0.4), a.y - 6 * Math.sin(ang + 0.4));
    }
    ctx.stroke();
    }
    ctx.globalAlpha = 1;
    // nodes and collapsed clusters
    for (const [id, b] of s.layout.boxes) {
      const look = s.looks.get(id);
      if (!look || look.kind === 'expanded' || !inView(b)) continue;
      drawn++;
      const collapsed = look.kind === 'collapsed';
      // the background first: group colours are translucent, and edges passing behind must not run over the text
      ctx.fillStyle = c.bg;
      roundRect(ctx, b, collapsed ? 8 : 4);
      ctx.fill();
      if (look.color) {
        ctx.fillStyle = look.color;
        ctx.fill();
      }
      if (collapsed) {
        // a stack: the cluster holds more than it shows
        ctx.strokeStyle = c.border;
        ctx.lineWidth = 1 / k;
        roundRect(ctx, { x: b.x + 3, y: b.y + 3, w: b.w, h: b.h }, 8);
        ctx.stroke();
        ctx.fillStyle = look.color ?? c.bg;
        roundRect(ctx, b, 8);
        ctx.fill();
      }
      if (look.ghost && look.ghost.total > 0 && look.ghost.kept < look.ghost.total) {
        // the channels that go: a hatched strip beside the kept ones
        const kw = (b.w - 8) * (look.ghost.kept / look.ghost.total);
        ctx.fillStyle = c.fg;
        ctx.globalAlpha = 0.55;
        ctx.fillRect(b.x + 4, b.y + b.h - 6, kw, 3);
        ctx.globalAlpha = 0.18;
        ctx.fillRect(b.x + 4 + kw, b.y + b.h - 6, b.w - 8 - kw, 3);
        ctx.globalAlpha = 1;
      }
      ctx.strokeStyle = look.mark === 2 ? c.focus : look.mark === 1 ? c.selection : c.border;
      ctx.lineWidth = (look.mark ? 3 : hc ? 1.5 : 1) / Math.min(k, 1);
      roundRect(ctx, b, collapsed ? 8 : 4);
      ctx.stroke();
      if (text) {
        ctx.fillStyle = c.fg;
        ctx.font = `600 ${c.font}`;
        ctx.fillText(`${collapsed ? '▸ ' : ''}${look.title}`, b.x + 8, b.y + 13, b.w - 16);
        ctx.font = c.font;
        if (look.detail) {
          ctx.fillStyle = c.fg;
          ctx.globalAlpha = 0.8;
          ctx.fillText(look.detail, b.x + 8, b.y + 28, b.w - 16);
          ctx.globalAlpha = 1;
        }
        if (look.count) {
          ctx.fillStyle = c.selection;
          ctx.fillText(`● ${look.count}`, b.x + b.w - 40, b.y + 28);
        }
      }
    }
    this.drawn = drawn;
    this.onPaint?.();
  }
}

function roundRect(ctx: CanvasRenderingContext2D, b: Box, r: number): void {
  ctx.beginPath();
  ctx.roundRect(b.x, b.y, b.w, b.h, r);
}
