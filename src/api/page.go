package api

import (
	"github.com/eosc-perf/api/src/perf"
)

// pageBody is the pagination envelope of API.md §3.4; prev_num and next_num
// are omitted when there is no such page.
type pageBody[T any] struct {
	Items   []T  `json:"items"`
	Total   int  `json:"total"`
	Page    int  `json:"page"`
	PerPage int  `json:"per_page"`
	Pages   int  `json:"pages"`
	HasPrev bool `json:"has_prev"`
	HasNext bool `json:"has_next"`
	PrevNum *int `json:"prev_num,omitempty"`
	NextNum *int `json:"next_num,omitempty"`
}

// pageOf converts a store list into the envelope, mapping each item with
// conv. A page past the end (no items and not page 1) is a bare 404.
func pageOf[S, T any](l perf.List[S], conv func(S) T) (*pageBody[T], error) {
	p := l.Page
	if len(l.Items) == 0 && p.Number != 1 {
		return nil, errNotFoundPage
	}
	b := &pageBody[T]{
		Items:   make([]T, 0, len(l.Items)),
		Total:   l.Total,
		Page:    p.Number,
		PerPage: p.PerPage,
		Pages:   (l.Total + p.PerPage - 1) / p.PerPage,
	}
	for _, it := range l.Items {
		b.Items = append(b.Items, conv(it))
	}
	b.HasPrev = p.Number > 1
	b.HasNext = p.Number < b.Pages
	if b.HasPrev {
		n := p.Number - 1
		b.PrevNum = &n
	}
	if b.HasNext {
		n := p.Number + 1
		b.NextNum = &n
	}
	return b, nil
}
